package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/token"
)

// queryExamples is a valid value for each query parameter some route takes.
func queryExamples(tokenID string) map[string]string {
	return map[string]string{
		"limit": "2", "cursor": "", "ownerId": "admin", "status": "active", "expiringWithin": "24h",
		"actor": "admin", "tokenId": tokenID, "type": "rotate",
		"since": "2026-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z",
	}
}

// TestEveryQueryVariantUnderTheRoles calls every route of template.yaml with each query
// parameter docs/openapi.yaml gives it, one at a time and all together, through the
// local gateway in which every function's DynamoDB client may make only the calls its
// role allows (iam.Guard: a refused call fails the test, as it would answer 500 on AWS).
// It also sends every query parameter any route takes to every other route: a parameter
// the code accepts must be in the document, a parameter the document lists must be
// accepted.
func TestEveryQueryVariantUnderTheRoles(t *testing.T) {
	svc := localtest.Service(t, nil)
	s := inProcess(t, svc)
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	doc, _ := localtest.OpenAPI(t)
	admin, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "admin", Scopes: localtest.Admin.Scopes, Reason: "test"})
	require.NoError(t, err)
	target, err := svc.Create(context.Background(), localtest.Admin, token.CreateInput{Name: "target", Scopes: []string{"tokens:read"}, Reason: "test"})
	require.NoError(t, err)
	examples := queryExamples(string(target.Token.ID))

	call := func(method, path string, q url.Values) (int, []byte) {
		t.Helper()
		u := srv.URL + path
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		req, err := http.NewRequest(method, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin.Plaintext.Reveal())
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var body json.RawMessage
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	refusedAsUnknown := func(code int, body []byte, name string) bool {
		var p struct {
			Errors []struct{ Field, Message string }
		}
		_ = json.Unmarshal(body, &p)
		for _, e := range p.Errors {
			if e.Field == name && strings.Contains(e.Message, "not a known query parameter") {
				return code == http.StatusBadRequest
			}
		}
		return false
	}

	tested := 0
	for _, r := range localtest.Template(t).Routes {
		if r.Method != http.MethodGet || r.Function == "ConsoleFunction" || r.Function == "DemoEchoFunction" {
			continue // only the operations read a query string; console and demo ignore it
		}
		path := strings.ReplaceAll(r.Path, "{id}", string(target.Token.ID))
		if strings.HasPrefix(r.Path, "/principals/") {
			path = strings.ReplaceAll(r.Path, "{id}", "admin")
		}
		item := doc.Paths.Find(r.Path)
		require.NotNil(t, item, "docs/openapi.yaml has no path %s", r.Path)
		op := item.GetOperation(r.Method)
		require.NotNil(t, op, "docs/openapi.yaml has no %s %s", r.Method, r.Path)
		var documented []string
		for _, p := range append(item.Parameters, op.Parameters...) {
			if p.Value.In == "query" {
				documented = append(documented, p.Value.Name)
			}
		}
		all := url.Values{}
		for _, name := range documented {
			v, ok := examples[name]
			require.True(t, ok, "%s %s: no example value for query parameter %s", r.Method, r.Path, name)
			all.Set(name, v)
			code, body := call(r.Method, path, url.Values{name: {v}})
			require.False(t, refusedAsUnknown(code, body, name), "%s %s?%s: documented, but the code refuses it: %s", r.Method, r.Path, name, body)
			require.Less(t, code, 500, "%s %s?%s=%s: %s", r.Method, r.Path, name, v, body)
			tested++
		}
		if len(all) > 0 {
			all.Del("cursor")
			code, body := call(r.Method, path, all)
			require.Less(t, code, 500, "%s %s?%s: %s", r.Method, r.Path, all.Encode(), body)
		}
		for name, v := range examples {
			if slices.Contains(documented, name) {
				continue
			}
			code, body := call(r.Method, path, url.Values{name: {v}})
			require.True(t, refusedAsUnknown(code, body, name), "%s %s?%s: the code takes it, docs/openapi.yaml does not list it (%d %s)", r.Method, r.Path, name, code, body)
		}
	}
	require.Greater(t, tested, 10, "the query variants ran")
	// The variants of GET /audit: one token's history (the base table), one actor's
	// (byOwner), the whole log (byCreated), each within a time range.
	for _, q := range []url.Values{
		{"tokenId": {string(target.Token.ID)}, "since": {examples["since"]}},
		{"actor": {"admin"}, "until": {examples["until"]}},
		{"type": {"create"}},
	} {
		code, body := call(http.MethodGet, "/audit", q)
		require.Equal(t, http.StatusOK, code, "GET /audit?%s: %s", q.Encode(), body)
	}
}

// TestOpenAPIExamples posts every request body example of docs/openapi.yaml to its
// route, through the local gateway under the roles, with the document checking every
// request and response (localtest.CheckOpenAPI): an example the handler refuses as
// malformed or for an unknown field, or that the document itself refuses, fails.
func TestOpenAPIExamples(t *testing.T) {
	svc := localtest.Service(t, nil)
	s := inProcess(t, svc)
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	client := &http.Client{Transport: localtest.CheckOpenAPI(t, http.DefaultTransport)}
	doc, _ := localtest.OpenAPI(t)
	ctx := context.Background()
	all := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}
	root, err := svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: all}, token.CreateInput{Name: "root kit", Scopes: all, Reason: "examples"})
	require.NoError(t, err)
	_, err = svc.Approve(ctx, localtest.Admin, root.Token.ID, "examples")
	require.NoError(t, err)

	posted := 0
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			media := op.RequestBody.Value.Content.Get("application/json")
			require.NotNil(t, media, "%s %s: a JSON body", method, path)
			require.NotNil(t, media.Example, "%s %s: docs/openapi.yaml gives an example body", method, path)
			body, err := json.Marshal(media.Example)
			require.NoError(t, err)
			target, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "example target", Scopes: []string{access.TokensRead}, Reason: "examples"})
			require.NoError(t, err)
			p := strings.ReplaceAll(path, "{id}", string(target.Token.ID))
			if strings.HasPrefix(path, "/principals/") {
				p = strings.ReplaceAll(path, "{id}", "alice")
			}
			req, err := http.NewRequest(method, srv.URL+p, strings.NewReader(string(body)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+root.Plaintext.Reveal())
			res, err := client.Do(req)
			require.NoError(t, err)
			answer, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Less(t, res.StatusCode, 500, "%s %s %s: %s", method, path, body, answer)
			require.NotContains(t, string(answer), "is not a known field", "%s %s: the example has a field the handler does not take", method, path)
			require.NotContains(t, string(answer), "malformed", "%s %s: the example is not what the handler reads", method, path)
			posted++
		}
	}
	require.GreaterOrEqual(t, posted, 14, "every operation with a body")
}
