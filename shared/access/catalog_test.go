package access_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

func TestShippedCatalog(t *testing.T) {
	c, err := access.LoadCatalog("../../infra/catalog.json")
	require.NoError(t, err)
	ci, ok := c.Role("continuous-integration")
	require.True(t, ok)
	require.Contains(t, ci.Scopes, "deployments:write")
	for _, r := range []access.Risk{access.RiskLow, access.RiskMedium, access.RiskHigh} {
		found := false
		for _, s := range c.Scopes() {
			if s.Risk == r && !containsBuiltin(s.Name) {
				found = true
			}
		}
		require.True(t, found, "an example application scope of risk %s", r)
	}
	p := &access.Principal{Roles: []string{"viewer", "developer", "gone"}, Scopes: []string{"payments:refund", "no-such-scope"}}
	require.Equal(t, []string{"orders:read", "orders:write", "payments:refund", "reports:read", "tokens:read", "tokens:write"}, c.Holds(p),
		"roles and own scopes, once each; unknown roles and scopes grant nothing")
	require.Equal(t, access.RiskHigh, c.RiskOf([]string{"tokens:read", "payments:refund"}))
	require.Equal(t, access.RiskMedium, c.RiskOf([]string{"orders:write"}))
	require.Equal(t, access.RiskLow, c.RiskOf([]string{"tokens:read"}))
}

func containsBuiltin(n string) bool {
	for _, s := range access.BuiltinScopes {
		if s.Name == n {
			return true
		}
	}
	return false
}

func TestBadCatalogs(t *testing.T) {
	tests := []struct{ name, json, want string }{
		{"not JSON", `{`, "invalid JSON"},
		{"unknown field", `{"scopes": [], "rolez": {}}`, "invalid JSON"},
		{"bad risk", `{"scopes": [{"name": "a:b", "risk": "extreme"}]}`, `risk "extreme"`},
		{"duplicate of a built-in", `{"scopes": [{"name": "tokens:read", "risk": "low"}]}`, "declared twice"},
		{"bad scope name", `{"scopes": [{"name": "Orders Read", "risk": "low"}]}`, "names are"},
		{"role with an unknown scope", `{"roles": {"r": {"scopes": ["nope"]}}}`, `unknown scope "nope"`},
		{"role without scopes", `{"roles": {"r": {"scopes": []}}}`, "no scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := access.ParseCatalog([]byte(tt.json))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestIntersect(t *testing.T) {
	require.Equal(t, []string{"a", "c"}, access.Intersect([]string{"a", "b", "c"}, []string{"c", "a"}))
	require.Empty(t, access.Intersect([]string{"a"}, nil))
}

// TestCatalogFromEnvNamesABadFile: a bad CATALOG_FILE fails the cold start with a
// message naming the file and what is wrong with it.
func TestCatalogFromEnvNamesABadFile(t *testing.T) {
	path := t.TempDir() + "/catalog.json"
	require.NoError(t, os.WriteFile(path, []byte(`{"roles": {"ops": {"scopes": ["orders:nuke"]}}}`), 0o600))
	_, err := access.CatalogFromEnv(envOf(map[string]string{"CATALOG_FILE": path}))
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, `role "ops" names unknown scope "orders:nuke"`)
	_, err = access.CatalogFromEnv(envOf(map[string]string{"CATALOG_FILE": path + ".missing"}))
	require.Error(t, err)
	c, err := access.CatalogFromEnv(envOf(map[string]string{"CATALOG_FILE": "../../infra/catalog.json"}))
	require.NoError(t, err)
	_, ok := c.Role("continuous-integration")
	require.True(t, ok)
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
