package authorizer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// TestRouteTableOrder: the more specific rule wins, every time, whatever the order of the
// JSON object or of a Go map.
func TestRouteTableOrder(t *testing.T) {
	tests := []struct {
		name   string
		scopes map[string][]string
		route  string
		want   []string
	}{
		{"a concrete route beats a greedy catch-all",
			map[string][]string{"POST /payments/{id}/refund": {"orders:admin"}, "ANY /{proxy+}": {"orders:read"}},
			"POST /payments/7/refund", []string{"orders:admin"}},
		{"a template beats a greedy template on the same prefix",
			map[string][]string{"GET /orders/{id}": {"orders:admin"}, "ANY /orders/{proxy+}": {"orders:read"}},
			"GET /orders/7", []string{"orders:admin"}},
		{"the greedy one still serves the rest",
			map[string][]string{"GET /orders/{id}": {"orders:admin"}, "ANY /orders/{proxy+}": {"orders:read"}},
			"GET /orders/7/lines", []string{"orders:read"}},
		{"exact beats template",
			map[string][]string{"GET /orders/{id}": {"a"}, "GET /orders/mine": {"b"}},
			"GET /orders/mine", []string{"b"}},
		{"fewer variables first",
			map[string][]string{"GET /{a}/{b}": {"a"}, "GET /orders/{b}": {"b"}},
			"GET /orders/1", []string{"b"}},
		{"a concrete method before ANY",
			map[string][]string{"ANY /orders/{id}": {"a"}, "DELETE /orders/{id}": {"b"}},
			"DELETE /orders/1", []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 1000; i++ { // a fresh table each time: map order changes between runs
				rt, err := authorizer.NewRouteTable(tt.scopes)
				require.NoError(t, err)
				got, ok := rt.Scopes(tt.route)
				require.True(t, ok)
				require.Equal(t, tt.want, got, "evaluation %d", i)
			}
		})
	}
}

func TestRouteTableUnlistedAndAmbiguous(t *testing.T) {
	rt, err := authorizer.NewRouteTable(map[string][]string{"GET /orders/{id}": {"orders:read"}})
	require.NoError(t, err)
	_, ok := rt.Scopes("POST /payments/7/refund")
	require.False(t, ok, "a route no key matches is unlisted")
	_, ok = rt.Scopes("GET /orders/7/lines")
	require.False(t, ok)

	rt, err = authorizer.NewRouteTable(map[string][]string{"GET /orders/{id}": {"orders:read"}, "ANY /{proxy+}": {}})
	require.NoError(t, err)
	got, ok := rt.Scopes("POST /payments/7/refund")
	require.True(t, ok, "a catch-all lists everything else")
	require.Empty(t, got, "[]: any valid token")

	for _, pair := range [][2]string{
		{"GET /{kind}/7", "GET /{type}/7"},
		{"ANY /orders/{id}", "ANY /orders/{orderId}"},
		{"GET /a/{proxy+}", "GET /a/{rest+}"},
	} {
		_, err := authorizer.NewRouteTable(map[string][]string{pair[0]: {"x"}, pair[1]: {"y"}})
		require.Error(t, err, "%v", pair)
		require.Contains(t, err.Error(), pair[0])
		require.Contains(t, err.Error(), pair[1])
	}
	for _, bad := range []string{"/orders", "GET orders", "GET /{proxy+}/x"} {
		_, err := authorizer.NewRouteTable(map[string][]string{bad: {"x"}})
		require.Error(t, err, bad)
	}
}

func TestUnlistedRouteIsRefused(t *testing.T) {
	f := newFixture(t, 0)
	c := f.create(t, token.CreateInput{})
	a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: f.clock.Now,
		RouteScopes: map[string][]string{"GET /orders/{id}": {"tokens:read"}}})
	d := a.Check(context.Background(), authorizer.Request{Token: c.Plaintext.Reveal(), Route: "POST /payments/7/refund"})
	require.Equal(t, authorizer.ReasonUnlisted, d.Reason)
	require.True(t, a.Check(context.Background(), authorizer.Request{Token: c.Plaintext.Reveal(), Route: "GET /orders/7"}).Allow)
}

func TestRouteARN(t *testing.T) {
	const arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/v1/GET/tokens/A/history"
	tests := []struct{ name, method, resource, want string }{
		{"a template's variables become wildcards", "GET", "/tokens/{id}/history", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/v1/GET/tokens/*/history"},
		{"a greedy variable too", "GET", "/console/{proxy+}", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/v1/GET/console/*"},
		{"a literal route stays as it is", "GET", "/tokens/self", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/v1/GET/tokens/self"},
		{"the root", "GET", "/", "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/v1/GET/"},
		{"no resource: the method ARN", "GET", "", arn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, authorizer.RouteARN(arn, tt.method, tt.resource))
		})
	}
}
