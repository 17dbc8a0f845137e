package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"tokengate/infra/provision"
	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/token"
)

// adminCaller is who mints the first admin token: the local stack's operator.
var adminCaller = access.Caller{
	OwnerID: "admin",
	Scopes:  []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead},
}

// setup makes the local stack ready and idempotently so: a second run changes nothing.
func setup(ctx context.Context, state, tmplPath string) error {
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	table := envOr("TABLE_NAME", "tokengate")
	clients, err := boot.NewClients(ctx)
	if err != nil {
		return err
	}
	keyFile := filepath.Join(state, "kms-key-id")
	keyID := readFile(keyFile)
	ok := false
	if keyID != "" {
		if ok, err = provision.KeyExists(ctx, clients.KMS, keyID); err != nil {
			return err
		}
	}
	if !ok {
		// The KMS emulator keeps keys in memory. When it has restarted, peppers sealed
		// under the old key cannot be opened again, and neither can any token hashed
		// with them: start the local data afresh rather than serve tokens nobody can use.
		if keyID != "" {
			fmt.Println("! The KMS emulator was restarted and lost its key: local tokens cannot be verified any more; starting the local table afresh.")
			if err := provision.DropTable(ctx, clients.DynamoDB, table); err != nil {
				return err
			}
			_ = os.Remove(filepath.Join(state, "admin-token"))
		}
		if keyID, err = provision.Key(ctx, clients.KMS, "tokengate local pepper key"); err != nil {
			return err
		}
		if err := os.WriteFile(keyFile, []byte(keyID+"\n"), 0o600); err != nil {
			return err
		}
	}
	created, err := provision.Table(ctx, clients.DynamoDB, tmpl.Table, table)
	if err != nil {
		return err
	}
	if created {
		fmt.Printf("✓ table %s created (keys, indexes and TTL from template.yaml)\n", table)
	}

	env := map[string]string{"TABLE_NAME": table, "KMS_KEY_ID": keyID}
	if abs, err := filepath.Abs(filepath.Join(filepath.Dir(tmplPath), "infra", "catalog.json")); err == nil {
		env["CATALOG_FILE"] = envOr("CATALOG_FILE", abs)
	}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SES", "SES_STORE_URL"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	for k, v := range settingDefaults(tmpl) {
		env[k] = envOr(k, v)
	}
	for k, v := range env {
		os.Setenv(k, v)
	}
	settings, err := boot.LoadSettings(nil)
	if err != nil {
		return err
	}
	deps, err := boot.LoadWith(ctx, settings) // creates pepper v1 on first start
	if err != nil {
		return err
	}
	if err := writeEnv(filepath.Join(state, "env"), env); err != nil {
		return err
	}
	if err := adminPrincipal(ctx, deps); err != nil {
		return err
	}
	return adminToken(ctx, deps, filepath.Join(state, "admin-token"))
}

// adminPrincipal creates the local operator, "admin": a superuser holding every scope of
// the catalog, so the walkthroughs can show every route and grant every role (nobody
// grants a scope it does not hold, and on a fresh stack nobody else holds any). It is
// left alone once it exists.
func adminPrincipal(ctx context.Context, deps *boot.Deps) error {
	_, err := deps.Table.GetPrincipal(ctx, adminCaller.OwnerID)
	if !errors.Is(err, token.ErrNotFound) {
		return err
	}
	var scopes []string
	for _, s := range deps.Catalog.Scopes() {
		scopes = append(scopes, s.Name)
	}
	now := deps.TokenService().Now().UTC().Truncate(time.Second)
	p := &access.Principal{ID: adminCaller.OwnerID, Name: "Local admin", Email: "admin@localhost", Kind: "user",
		Scopes: scopes, Superuser: true, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := deps.Table.PutPrincipal(ctx, p, 0); err != nil {
		return fmt.Errorf("create admin principal: %w", err)
	}
	fmt.Println("✓ principal admin created (every scope of the catalog, superuser)")
	return nil
}

// adminScopes are the scopes of the local admin token: every scope of the catalog but
// the high-risk ones, which would leave the token pending until another admin approves
// it. With the application scopes on it, the admin can grant the catalog's roles.
func adminScopes(cat *access.Catalog) []string {
	scopes := slices.Clone(adminCaller.Scopes)
	for _, s := range cat.Scopes() {
		if s.Risk != access.RiskHigh && !slices.Contains(scopes, s.Name) {
			scopes = append(scopes, s.Name)
		}
	}
	return scopes
}

// adminToken mints the first admin token unless the one on file still works. The token
// is printed this once and kept only in a 0600 file.
func adminToken(ctx context.Context, deps *boot.Deps, path string) error {
	if s := readFile(path); s != "" {
		if id, _, err := token.Parse(deps.Settings.Prefix, s); err == nil {
			if t, err := deps.Table.Get(ctx, id); err == nil && t.EffectiveStatus(deps.TokenService().Now()) == token.StatusActive {
				fmt.Printf("✓ admin token in %s (%s)\n", path, t.Hint)
				return nil
			}
		}
		fmt.Printf("! the admin token in %s no longer works: minting a new one\n", path)
	}
	caller := adminCaller
	caller.Scopes = adminScopes(deps.Catalog)
	c, err := deps.TokenService().Create(ctx, caller, token.CreateInput{
		Name: "local admin", Description: "Minted by `make run` for the local stack's operator.",
		Scopes: caller.Scopes, ExpiresIn: "1y", Reason: "local stack bootstrap",
	})
	if err != nil {
		return fmt.Errorf("mint admin token: %w", err)
	}
	if err := os.WriteFile(path, []byte(c.Plaintext.Reveal()+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("✓ admin token minted and written to %s (mode 0600); it is shown only this once:\n\n    %s\n\n", path, c.Plaintext.Reveal())
	return nil
}

// settingDefaults maps the functions' environment to the template's parameter defaults.
func settingDefaults(t *samtemplate.Template) map[string]string {
	names := map[string]string{
		"TOKEN_PREFIX": "TokenPrefix", "MAX_TOKEN_LIFETIME": "MaxTokenLifetime", "TEMPORARY_TOKEN_TTL": "TemporaryTokenTTL",
		"PERMANENT_TOKENS_ADMIN_ONLY": "PermanentTokensAdminOnly", "RETENTION_AFTER_END": "RetentionAfterEnd",
		"AUTH_CACHE_TTL": "AuthCacheTTL", "USAGE_FLUSH_INTERVAL": "UsageFlushInterval",
		"ROUTE_SCOPES": "RouteScopes", "AUTHORIZER_RESPONSE": "AuthorizerResponse",
	}
	out := map[string]string{}
	for env, param := range names {
		if v, ok := t.Parameters[param]; ok {
			out[env] = v
		}
	}
	return out
}

func writeEnv(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Environment of a tokengate function on the local stack (written by tglocal setup).\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, shellQuote(env[k]))
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// shellQuote single-quotes v so that `. .local/env` in a shell reads it back as it is
// (ROUTE_SCOPES is JSON, with spaces and double quotes).
func shellQuote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

// shellUnquote undoes shellQuote; a value without quotes is taken as it is.
func shellUnquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
	}
	return v
}

// loadEnv sets every KEY=VALUE of an env file that the environment does not set already.
// readEnv reads an env file as writeEnv wrote it.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = shellUnquote(v)
		}
	}
	return out, sc.Err()
}

func loadEnv(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing: run `make run` (or tglocal setup) first", path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, shellUnquote(v))
		}
	}
	return sc.Err()
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
