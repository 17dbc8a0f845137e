package faults_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/faults"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/token"
)

// TestWritesAllOrNothing: every write is one DynamoDB transaction with its audit record.
// When the transaction fails (throttled, internal error) or is done but its answer is
// lost (reset after the write), the client gets 503 with Retry-After, and the table holds
// either the whole change or none of it: a token never without its audit record.
func TestWritesAllOrNothing(t *testing.T) {
	f := newFixture(t)
	svcs, err := boot.LoadWith(context.Background(), f.settings(nil), boot.Issuing)
	require.NoError(t, err)
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.Handler{
		"POST /tokens":              api.CreateToken(svcs),
		"PATCH /tokens/{id}":        api.UpdateToken(svcs.Tokens),
		"POST /tokens/{id}/rotate":  api.RotateToken(svcs),
		"POST /tokens/{id}/disable": api.DisableToken(svcs.Tokens),
		"DELETE /tokens/{id}":       api.RevokeToken(svcs.Tokens),
	} {
		mux.Handle(pattern, h)
	}
	call := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r = r.WithContext(access.WithCaller(r.Context(), alice))
		w := httptest.NewRecorder()
		f.timed(func() { mux.ServeHTTP(w, r) })
		return w
	}

	writes := func(id token.ID) [][3]string {
		p := "/tokens/" + string(id)
		return [][3]string{
			{"POST", "/tokens", `{"name":"new","scopes":["tokens:read"],"type":"temporary"}`},
			{"PATCH", p, `{"name":"renamed"}`},
			{"POST", p + "/rotate", `{}`},
			{"POST", p + "/disable", `{}`},
			{"DELETE", p, ``},
		}
	}
	for _, fault := range []struct {
		name string
		on   func()
	}{
		{"throttled", func() { f.deps.DynamoDB.Fail("TransactWriteItems", faults.DynamoDBThrottling, -1) }},
		{"internal error", func() { f.deps.DynamoDB.Fail("TransactWriteItems", faults.DynamoDBInternal, -1) }},
		{"answer lost after the write", func() { f.deps.DynamoDB.LoseAnswers("TransactWriteItems", -1) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			id := f.issue(alice, "target").Token.ID
			fault.on()
			for _, w := range writes(id) {
				res := call(w[0], w[1], w[2])
				if f.deps.DynamoDB.Seen("TransactWriteItems") == 0 {
					t.Fatalf("%s %s made no transaction", w[0], w[1])
				}
				require.Equal(t, http.StatusServiceUnavailable, res.Code, "%s %s: %s", w[0], w[1], res.Body)
				require.Equal(t, api.RetryAfter, res.Header().Get("Retry-After"))
			}
			f.deps.Clear(t)
		})
	}
	require.Zero(t, f.halfWritten(), "no token without its audit record, no record without its token")
}

// halfWritten counts the changes the table holds in part: a token whose version has no
// audit record, a creation record whose token is missing.
func (f *fixture) halfWritten() int {
	f.t.Helper()
	ctx := context.Background()
	toks, _, err := f.tb.List(ctx, token.Filter{Limit: 100})
	require.NoError(f.t, err)
	exists := map[token.ID]bool{}
	bad := 0
	for _, tok := range toks {
		exists[tok.ID] = true
		evs, _, err := f.tb.Events(ctx, token.AuditFilter{TokenID: tok.ID, Limit: 100})
		require.NoError(f.t, err)
		var top int64
		for _, e := range evs {
			top = max(top, e.Version)
		}
		if len(evs) == 0 || top != tok.Version {
			f.t.Errorf("token %s is at version %d, its audit records reach %d (%d records)", tok.ID, tok.Version, top, len(evs))
			bad++
		}
	}
	evs, _, err := f.tb.Events(ctx, token.AuditFilter{Limit: 100})
	require.NoError(f.t, err)
	for _, e := range evs {
		if e.TokenID != "" && !exists[e.TokenID] {
			f.t.Errorf("audit record %s names token %s, which is not stored", e.ID, e.TokenID)
			bad++
		}
	}
	return bad
}
