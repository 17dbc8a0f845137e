package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/boot"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// TestGatewayEndToEnd drives the local gateway as a client would: routes from
// template.yaml, the real authorizer in front, the real handlers behind, DynamoDB Local
// and the KMS emulator underneath.
func TestGatewayEndToEnd(t *testing.T) {
	svc := localtest.Service(t, nil)
	tb := svc.Store.(*store.Table)
	deps := &boot.Deps{
		Settings: boot.Settings{TableName: tb.Name, Prefix: "tg", Policy: svc.Policy, AuthCacheTTL: 0, UsageFlushInterval: time.Minute},
		Table:    tb, Keys: svc.Keys, Catalog: svc.Catalog,
	}
	s, err := NewServer(localtest.Template(t), deps)
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()

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
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}

	code, self := call(admin.Plaintext.Reveal(), "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(admin.Token.ID), self["id"])

	code, _ = call("", "GET", "/tokens/self", "")
	require.Equal(t, http.StatusUnauthorized, code, "no token")
	code, _ = call("tg_garbage", "GET", "/tokens/self", "")
	require.Equal(t, http.StatusForbidden, code, "a bad token is denied")

	code, created := call(admin.Plaintext.Reveal(), "POST", "/tokens", `{"name":"ci","scopes":["tokens:read"],"expiresIn":"1w"}`)
	require.Equal(t, http.StatusCreated, code)
	ci := created["token"].(string)
	code, self = call(ci, "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, created["id"], self["id"])
	code, _ = call(ci, "POST", "/tokens", `{"name":"x","scopes":["tokens:read"],"type":"temporary"}`)
	require.Equal(t, http.StatusForbidden, code, "tokens:read cannot create")

	code, _ = call(admin.Plaintext.Reveal(), "DELETE", "/tokens/"+created["id"].(string), "")
	require.Equal(t, http.StatusNoContent, code)
	code, _ = call(ci, "GET", "/tokens/self", "")
	require.Equal(t, http.StatusForbidden, code, "a revoked token is denied")

	code, me := call(admin.Plaintext.Reveal(), "GET", "/principals/admin", "")
	require.Equal(t, http.StatusOK, code, "the principal routes run on the same deps")
	require.Contains(t, me["holds"], "tokens:admin")
	code, _ = call(ci, "GET", "/scopes", "")
	require.Equal(t, http.StatusForbidden, code, "the catalog routes sit behind the authorizer too")

	code, _ = call(admin.Plaintext.Reveal(), "GET", "/nowhere", "")
	require.Equal(t, http.StatusNotFound, code)
}

func TestEveryRouteHasAnOperation(t *testing.T) {
	for _, r := range localtest.Template(t).Routes {
		_, ok := handler(r.Function, &boot.Deps{})
		require.True(t, ok, "%s %s: function %s has no handler in the local gateway", r.Method, r.Path, r.Function)
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	path := t.TempDir() + "/env"
	values := map[string]string{"TG_TEST_JSON": `{"GET /demo/echo": ["tokens:read"]}`, "TG_TEST_QUOTE": "it's", "TG_TEST_PLAIN": "8760h"}
	require.NoError(t, writeEnv(path, values))
	for k := range values {
		t.Setenv(k, "") // restored after the test
		require.NoError(t, os.Unsetenv(k))
	}
	require.NoError(t, loadEnv(path))
	for k, v := range values {
		require.Equal(t, v, os.Getenv(k))
	}
	out, err := exec.Command("bash", "-c", "set -a; . "+path+"; set +a; printf %s \"$TG_TEST_JSON|$TG_TEST_QUOTE\"").Output()
	require.NoError(t, err)
	require.Equal(t, values["TG_TEST_JSON"]+"|it's", string(out), "a shell reads the file back the same")
}
