package authorizer_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"tokengate/shared/authorizer"
)

// FuzzRouteScopes: any ROUTE_SCOPES value, and any route asked about.
// Properties: no panic; a table that builds answers every concrete key it holds with
// that key's scopes; and its answers never depend on the order the JSON object or Go map
// gave the keys (built twice, it answers the probe the same).
func FuzzRouteScopes(f *testing.F) {
	for _, s := range []string{
		`{"GET /orders": ["orders:read"], "GET /orders/{id}": ["orders:read"], "ANY /{proxy+}": []}`,
		`{"POST /orders/{id}/items/{item}": ["orders:write"], "ANY /files/{path+}": ["files:read"]}`,
		`{"get /a": ["x"], "GET /a": ["y"]}`, `{"GET /{a}/b": [], "GET /a/{b}": []}`, `{"GET": []}`, `{"GET /{x+}/y": []}`,
	} {
		f.Add(s, "GET /orders/42")
	}
	f.Fuzz(func(t *testing.T, raw, probe string) {
		var m map[string][]string
		if json.Unmarshal([]byte(raw), &m) != nil {
			return
		}
		rt, err := authorizer.NewRouteTable(m)
		if err != nil {
			return
		}
		for key, scopes := range m {
			method, path, _ := strings.Cut(strings.TrimSpace(key), " ")
			path = strings.TrimSpace(path)
			if strings.Contains(path, "{") || strings.Contains(path, "//") || strings.HasSuffix(path, "/") && path != "/" {
				continue
			}
			got, ok := rt.Scopes(strings.ToUpper(method) + " " + path)
			if !ok || !slices.Equal(got, scopes) {
				t.Fatalf("%q answers %v, %v; its key says %v", key, got, ok, scopes)
			}
		}
		for i := 0; i < 3; i++ {
			rt2, err := authorizer.NewRouteTable(m)
			if err != nil {
				t.Fatalf("built once, refused the next time: %v", err)
			}
			a, okA := rt.Scopes(probe)
			b, okB := rt2.Scopes(probe)
			if okA != okB || !slices.Equal(a, b) {
				t.Fatalf("%q: %v/%v, then %v/%v", probe, a, okA, b, okB)
			}
		}
	})
}
