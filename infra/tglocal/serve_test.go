package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"tokengate/infra/iam"
	"tokengate/infra/localtest"
	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// gatewayServer is what a test drives in either mode: the gateway's handler, and in
// Lambda mode the emulators (to invoke a function with no route).
type gatewayServer struct {
	Handler http.Handler
	lambdas *lambdas // nil in process
}

// gatewayMode builds the local gateway over a fresh table: in-process (the handlers
// linked into tglocal) or Lambda (the built bootstraps under the emulator).
type gatewayMode func(t *testing.T, svc *token.Service) gatewayServer

// inProcess gives each function a DynamoDB client that allows only what its role allows
// (iam.Guard), and the pepper only when its role may decrypt it.
func inProcess(t *testing.T, svc *token.Service) gatewayServer {
	tb := svc.Store.(*store.Table)
	clients := localtest.Clients(t)
	settings := testSettings(svc, 0)
	roles, err := localRoles(localtest.Template(t), localSender)
	require.NoError(t, err)
	tableFor := func(fn string) *store.Table {
		ddb := dynamodb.NewFromConfig(clients.AWS, func(o *dynamodb.Options) {
			o.BaseEndpoint = boot.Endpoint("DynamoDB")
			o.DisableValidateResponseChecksum = true
			o.HTTPClient = &http.Client{Transport: roles.Guard(fn, http.DefaultTransport, nil, func(msg string) { t.Errorf("least privilege: %s", msg) })}
		})
		return &store.Table{Client: ddb, Name: tb.Name, Retention: tb.Retention}
	}
	servicesFor := func(fn string) api.Services {
		var keys *token.Keyring
		if roles.Uses(fn, "kms") {
			keys = svc.Keys
		}
		var mail *boot.Clients
		if roles.Uses(fn, "ses") {
			mail = &clients
		}
		return boot.Assemble(settings, tableFor(fn), keys, svc.Catalog, mail)
	}
	routes, err := boot.LoadSettings(func(k string) string {
		if k == "ROUTE_SCOPES" {
			return localtest.Template(t).Environment[authorizerFunction]["ROUTE_SCOPES"]
		}
		return map[string]string{"TABLE_NAME": tb.Name, "KMS_KEY_ID": "k"}[k]
	})
	require.NoError(t, err)
	settings.Routes = routes.Routes
	auth, usage, err := boot.NewAuthorizer(settings, tableFor(authorizerFunction), svc.Keys, nil)
	require.NoError(t, err)
	s, err := NewServerWith(localtest.Template(t), servicesFor, auth, usage)
	require.NoError(t, err)
	return gatewayServer{Handler: s.Handler}
}

// inLambdas runs every function as make build-local built it, under the emulator make
// installs (TG_RIE, TG_LAMBDA_DIR: make test sets both), on the test's table.
func inLambdas(t *testing.T, svc *token.Service) gatewayServer {
	s := inLambdasWith(t, svc, AuthorizerCache{}, nil)
	return gatewayServer{s.Handler, s.lambdas}
}

// inLambdasWith is inLambdas with API Gateway's authorizer cache as given, and the
// settings in env set too.
func inLambdasWith(t *testing.T, svc *token.Service, cache AuthorizerCache, env map[string]string) *LambdaServer {
	return inLambdasConfig(t, svc, env, func(c *LambdaConfig) { c.AuthorizerCache = cache })
}

// inLambdasRecording is inLambdas with every function's AWS calls recorded in rec.
func inLambdasRecording(t *testing.T, svc *token.Service, rec *iam.Record, env map[string]string) *LambdaServer {
	return inLambdasConfig(t, svc, env, func(c *LambdaConfig) { c.Record = rec })
}

func inLambdasConfig(t *testing.T, svc *token.Service, env map[string]string, with func(*LambdaConfig)) *LambdaServer {
	rie, dir := os.Getenv("TG_RIE"), os.Getenv("TG_LAMBDA_DIR")
	if rie == "" || dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TG_RIE and TG_LAMBDA_DIR are not set: run the tests with `make test`")
		}
		t.Skip("TG_RIE and TG_LAMBDA_DIR are not set: run the tests with `make test`")
	}
	tb := svc.Store.(*store.Table)
	cfg := LambdaConfig{
		RIE: rie, Dir: dir, Env: os.Environ(), LogDir: filepath.Join(t.TempDir(), "logs"),
		Denied: func(msg string) { t.Errorf("least privilege: %s", msg) },
		Override: map[string]string{
			"TABLE_NAME": tb.Name, "KMS_KEY_ID": localtest.KMSKey(t), "AUTH_CACHE_TTL": "0",
			"NOTIFICATION_SENDER": localSender,
		},
	}
	maps.Copy(cfg.Override, env)
	with(&cfg)
	s, err := NewLambdaServer(localtest.Template(t), cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s
}

// TestGatewayEndToEnd drives the local gateway as a client would: routes from
// template.yaml, the real authorizer in front, the real handlers behind, DynamoDB Local
// and the KMS emulator underneath; once with the handlers in process, once with every
// function as its bootstrap under the Lambda runtime interface emulator.
func TestGatewayEndToEnd(t *testing.T) {
	for name, mode := range map[string]gatewayMode{"in-process": inProcess, "lambda": inLambdas} {
		t.Run(name, func(t *testing.T) { endToEnd(t, mode, name == "lambda") })
	}
}

func endToEnd(t *testing.T, mode gatewayMode, lambda bool) {
	svc := localtest.Service(t, nil)
	s := mode(t, svc)
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	client := &http.Client{Transport: localtest.CheckOpenAPI(t, http.DefaultTransport)}

	adminCaller := localtest.Admin
	admin, err := svc.Create(context.Background(), adminCaller, token.CreateInput{Name: "admin", Scopes: adminCaller.Scopes, Reason: "test"})
	require.NoError(t, err)
	call := func(tok, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		if res.StatusCode >= 400 {
			require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "%s %s: every refusal is problem+json", method, path)
		}
		return res.StatusCode, m
	}

	code, self := call(admin.Plaintext.Reveal(), "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(admin.Token.ID), self["id"])

	// SPEC: Authorization: Bearer, or X-API-Key. No identity source keeps the gateway
	// from calling the authorizer with the latter.
	keyReq, err := http.NewRequest("GET", srv.URL+"/tokens/self", nil)
	require.NoError(t, err)
	keyReq.Header.Set("X-API-Key", admin.Plaintext.Reveal())
	keyRes, err := client.Do(keyReq)
	require.NoError(t, err)
	keyRes.Body.Close()
	require.Equal(t, http.StatusOK, keyRes.StatusCode, "X-API-Key is accepted beside Bearer")

	code, p := call("", "GET", "/tokens/self", "")
	require.Equal(t, http.StatusUnauthorized, code, "no token")
	require.Equal(t, "Unauthorized", p["title"], "the template's UNAUTHORIZED gateway response")
	code, _ = call("tg_garbage", "GET", "/tokens/self", "")
	require.Equal(t, http.StatusUnauthorized, code, "a token that is not valid")

	code, created := call(admin.Plaintext.Reveal(), "POST", "/tokens", `{"name":"ci","scopes":["tokens:read"],"expiresIn":"1w"}`)
	require.Equal(t, http.StatusCreated, code)
	ci := created["token"].(string)
	code, self = call(ci, "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, created["id"], self["id"])
	code, _ = call(ci, "POST", "/tokens", `{"name":"x","scopes":["tokens:read"],"type":"temporary"}`)
	require.Equal(t, http.StatusForbidden, code, "tokens:read cannot create")

	code, p = call(ci, "GET", "/demo/echo", "")
	require.Equal(t, http.StatusOK, code, "ROUTE_SCOPES lets tokens:read call the demo")
	require.Equal(t, created["id"], p["authorizer"].(map[string]any)["tokenId"], "the authorizer's context reaches the function")
	noDemo, err := svc.Create(context.Background(), adminCaller, token.CreateInput{Name: "audit-only", Scopes: []string{"audit:read"}, Reason: "test"})
	require.NoError(t, err)
	code, p = call(noDemo.Plaintext.Reveal(), "GET", "/demo/echo", "")
	require.Equal(t, http.StatusForbidden, code, "a valid token refused by ROUTE_SCOPES")
	require.Equal(t, "Forbidden", p["title"], "the template's ACCESS_DENIED gateway response")

	code, _ = call(admin.Plaintext.Reveal(), "DELETE", "/tokens/"+created["id"].(string), "")
	require.Equal(t, http.StatusNoContent, code)
	code, _ = call(ci, "GET", "/tokens/self", "")
	require.Equal(t, http.StatusUnauthorized, code, "a revoked token is not valid")

	code, me := call(admin.Plaintext.Reveal(), "GET", "/principals/admin", "")
	require.Equal(t, http.StatusOK, code, "the principal routes run on the same table")
	require.Contains(t, me["holds"], "tokens:admin")
	code, _ = call(ci, "GET", "/scopes", "")
	require.Equal(t, http.StatusUnauthorized, code, "the catalog routes sit behind the authorizer too")

	code, p = call(admin.Plaintext.Reveal(), "GET", "/nowhere", "")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "Not Found", p["title"])

	code, _ = call(admin.Plaintext.Reveal(), "POST", "/tokens", "{not json")
	require.Equal(t, http.StatusBadRequest, code)

	// Every route once: each function starts (its cold start under the emulator) and
	// answers within the OpenAPI document, whatever it decides.
	// Ids are of a token made for this (which the loop disables, revokes...) and of no
	// principal, so the admin token keeps working throughout.
	target, err := svc.Create(context.Background(), adminCaller, token.CreateInput{Name: "target", Scopes: []string{"tokens:read"}, Reason: "test"})
	require.NoError(t, err)
	for _, r := range localtest.Template(t).Routes {
		path := strings.ReplaceAll(strings.ReplaceAll(r.Path, "{id}", string(target.Token.ID)), "{proxy+}", "")
		if strings.HasPrefix(r.Path, "/principals/") {
			path = strings.ReplaceAll(r.Path, "{id}", "nobody")
		}
		body := ""
		if r.Method == "POST" || r.Method == "PATCH" {
			body = "{}"
		}
		if r.Path == "/tokens/self/rotate" {
			body = `{"gracePeriod":"1h"}` // the admin token rotates itself and keeps working
		}
		code, _ := call(admin.Plaintext.Reveal(), r.Method, path, body)
		require.Less(t, code, 500, "%s %s", r.Method, path)
	}
	if lambda {
		// The notifier has no route: EventBridge invokes it.
		ev, err := os.ReadFile("../../events/notifier.json")
		require.NoError(t, err)
		_, err = s.lambdas.invoke(context.Background(), "NotifierFunction", json.RawMessage(ev))
		require.NoError(t, err)
		reportInitDurations(t, s.lambdas)
	}
}

// reportInitDurations writes each function's init duration under the emulator to
// TG_LAMBDA_REPORT (make test prints it).
func reportInitDurations(t *testing.T, l *lambdas) {
	d := l.InitDurations()
	var b strings.Builder
	for _, fn := range slices.Sorted(maps.Keys(l.fns)) {
		ms, ok := d[fn]
		require.True(t, ok, "%s reported no init duration: it was never invoked (%v)", fn, d)
		fmt.Fprintf(&b, "%-26s %8.1f ms\n", fn, ms)
	}
	t.Log("init durations under the Lambda runtime interface emulator:\n" + b.String())
	if path := os.Getenv("TG_LAMBDA_REPORT"); path != "" {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	path := t.TempDir() + "/env"
	values := map[string]string{"TG_TEST_JSON": `{"GET /demo/echo": ["tokens:read"]}`, "TG_TEST_QUOTE": "it's", "TG_TEST_PLAIN": "8760h"}
	require.NoError(t, writeEnv(path, values))
	got, err := readEnv(path)
	require.NoError(t, err)
	require.Equal(t, values, got)
	out, err := exec.Command("bash", "-c", "set -a; . "+path+"; set +a; printf %s \"$TG_TEST_JSON|$TG_TEST_QUOTE\"").Output()
	require.NoError(t, err)
	require.Equal(t, values["TG_TEST_JSON"]+"|it's", string(out), "a shell reads the file back the same")
}

// TestAuthorizerCacheCoversTheRoute: with API Gateway's authorizer cache on, keyed as
// docs/attach-authorizer.md says (the token, the method, the resource template), an Allow
// decided for GET /tokens/A is reused for GET /tokens/B, the same route: the policy
// covers the route's template, not only the path it was decided for. Another route is
// decided afresh, and a Deny is never widened to an Allow.
func TestAuthorizerCacheCoversTheRoute(t *testing.T) {
	svc := localtest.Service(t, nil)
	s := inLambdasWith(t, svc, AuthorizerCache{TTL: 5 * time.Minute, Sources: []string{
		"method.request.header.Authorization", "context.httpMethod", "context.resourcePath"}}, nil)
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	admin, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "admin", Scopes: localtest.Admin.Scopes, Reason: "test"})
	require.NoError(t, err)
	a, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "a", Scopes: []string{"tokens:read"}, Reason: "test"})
	require.NoError(t, err)
	b, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "b", Scopes: []string{"tokens:read"}, Reason: "test"})
	require.NoError(t, err)
	audit, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "audit-only", Scopes: []string{"audit:read"}, Reason: "test"})
	require.NoError(t, err)
	get := func(tok, path string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	tok := admin.Plaintext.Reveal()
	require.Equal(t, http.StatusOK, get(tok, "/tokens/"+string(a.Token.ID)), "decided by the authorizer, then cached")
	require.Equal(t, http.StatusOK, get(tok, "/tokens/"+string(b.Token.ID)), "the cached Allow covers the route, not only /tokens/A")
	require.Equal(t, http.StatusOK, get(tok, "/tokens/"+string(a.Token.ID)+"/history"), "another route: decided afresh")
	require.Equal(t, http.StatusUnauthorized, get("", "/tokens/"+string(a.Token.ID)), "a missing identity source is 401 before any authorizer")
	// ROUTE_SCOPES refuses GET /demo/echo to a token without tokens:read: a Deny, cached too.
	require.Equal(t, http.StatusForbidden, get(audit.Plaintext.Reveal(), "/demo/echo"))
	require.Equal(t, http.StatusForbidden, get(audit.Plaintext.Reveal(), "/demo/echo"), "a cached Deny stays a Deny")
}

// TestUsageCountsUnderTheEmulator: the authorizer's bootstrap under the official Lambda
// runtime interface emulator registers its usage extension (INVOKE only: SHUTDOWN is
// refused to internal extensions), writes a first use after the answer that made it,
// every count once USAGE_FLUSH_INTERVAL has passed (after the next invocation), and
// every pending one when the instance gets SIGTERM.
func TestUsageCountsUnderTheEmulator(t *testing.T) {
	svc := localtest.Service(t, nil)
	s := inLambdasWith(t, svc, AuthorizerCache{}, map[string]string{"USAGE_FLUSH_INTERVAL": "1s"})
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	tok, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "counted", Scopes: []string{"tokens:read"}, Reason: "test"})
	require.NoError(t, err)
	use := func(n int) {
		t.Helper()
		for range n {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/tokens/self", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+tok.Plaintext.Reveal())
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
		}
	}
	useCount := func() int64 {
		got, err := svc.Store.Get(context.Background(), tok.Token.ID)
		require.NoError(t, err)
		return got.UseCount
	}
	use(1)
	require.Eventually(t, func() bool { return useCount() == 1 }, 2*time.Second, 20*time.Millisecond, "a first use is written right after its answer")
	use(4)
	time.Sleep(1100 * time.Millisecond) // USAGE_FLUSH_INTERVAL passes
	use(1)
	require.Eventually(t, func() bool { return useCount() == 6 }, 2*time.Second, 20*time.Millisecond, "6 uses: every count is written once the interval has passed")
	use(3)
	f := s.lambdas.fns[authorizerFunction]
	f.stop() // SIGTERM, as Lambda ends an instance
	require.Eventually(t, func() bool { return useCount() == 9 }, 5*time.Second, 20*time.Millisecond, "SIGTERM writes the pending uses")

	logged, err := os.ReadFile(f.logPath)
	require.NoError(t, err)
	require.NotContains(t, string(logged), "usage extension not registered", "the extension registers under the emulator: %s", logged)
}
