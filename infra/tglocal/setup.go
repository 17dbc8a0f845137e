package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"tokengate/infra/provision"
	"tokengate/infra/samtemplate"
	"tokengate/shared/boot"
	"tokengate/shared/store"
)

// setup makes the local stack ready (table, KMS key, the functions' environment) and
// idempotently so: a second run changes nothing. It never deletes a table. The pepper,
// the first superuser and its token come from `tglocal bootstrap`, as on AWS.
func setup(ctx context.Context, state, tmplPath string) error {
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	tableFile := filepath.Join(state, "table-name")
	table := envOr("TABLE_NAME", readFile(tableFile))
	if table == "" {
		table = "tokengate"
	}
	clients, err := boot.NewClients(boot.Settings{AWS: boot.LoadAWSSettings(os.Getenv)})
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
		// The key file is gone but the KMS emulator still has the key under its alias.
		id, found, err := provision.AliasKey(ctx, clients.KMS, localKeyAlias)
		if err != nil {
			return err
		}
		if found {
			keyID, ok = id, true
			if err := os.WriteFile(keyFile, []byte(keyID+"\n"), 0o600); err != nil {
				return err
			}
		}
	}
	if !ok {
		// local-kms keeps its keys in .local/data/kms, across restarts. When they are gone
		// (that folder deleted), peppers sealed under the old key cannot be opened, nor
		// can any token hashed with them. The table is kept (nothing here deletes data;
		// `make reset` does, when asked): the local stack moves to a fresh table beside it.
		if keyID != "" {
			tb := &store.Table{Client: clients.DynamoDB, Name: table}
			if sealed, err := tb.SealedPeppers(ctx); err == nil && len(sealed) > 0 {
				old := table
				table = fmt.Sprintf("tokengate-%d", time.Now().Unix())
				fmt.Printf("! The KMS emulator no longer has the key that sealed the pepper of table %s: its tokens cannot be verified any more.\n"+
					"  The table is kept; the local stack moves to a fresh table %s (`make reset` removes all local data).\n", old, table)
				_ = os.Remove(filepath.Join(state, "admin-token"))
			}
		}
		if keyID, err = provision.Key(ctx, clients.KMS, "tokengate local pepper key"); err != nil {
			return err
		}
		if err := provision.Alias(ctx, clients.KMS, localKeyAlias, keyID); err != nil {
			return err
		}
		fmt.Printf("✓ KMS key %s created (%s)\n", keyID, localKeyAlias)
		if err := os.WriteFile(keyFile, []byte(keyID+"\n"), 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(tableFile, []byte(table+"\n"), 0o600); err != nil {
		return err
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
	// Recipients of the expiry run's summary, so that `make notify` shows them too.
	env["EXPIRY_NOTIFICATION_EMAILS"] = envOr("EXPIRY_NOTIFICATION_EMAILS", localExpiryRecipients)
	if _, err := boot.LoadSettings(localEnv{env}.Getenv); err != nil {
		return err
	}
	return writeEnv(filepath.Join(state, "env"), env)
}

// localKeyAlias names the local stack's pepper key in the KMS emulator.
const localKeyAlias = "alias/tokengate-local"

// localExpiryRecipients is EXPIRY_NOTIFICATION_EMAILS on the local stack.
const localExpiryRecipients = "ops@example.test"

// settingDefaults maps the functions' environment to the template's parameter defaults.
func settingDefaults(t *samtemplate.Template) map[string]string {
	names := map[string]string{
		"TOKEN_PREFIX": "TokenPrefix", "MAX_TOKEN_LIFETIME": "MaxTokenLifetime", "TEMPORARY_TOKEN_TTL": "TemporaryTokenTTL", "MAX_TEMPORARY_TOKEN_LIFETIME": "MaxTemporaryTokenLifetime",
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
