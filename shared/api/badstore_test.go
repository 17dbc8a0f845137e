package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/api"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// TestBadStoredItemDoesNotStopListings writes an item that does not decode straight to
// DynamoDB Local: GET /tokens, GET /alerts and GET /approvals still answer 200 with
// every other token; only a read of that one token fails.
func TestBadStoredItemDoesNotStopListings(t *testing.T) {
	e := newEnv(t)
	e.mux.Handle("GET /alerts", api.Alerts(e.svc))
	at := e.clock.Now().Add(48 * time.Hour).Format(time.RFC3339)
	var ids []string
	for _, name := range []string{"first", "bad", "last"} {
		b := e.create(admin, map[string]any{"name": name, "scopes": []string{"tokens:read"}, "ownerId": "alice", "expiresAt": at})
		ids = append(ids, b["id"].(string))
	}
	localtest.Corrupt(t, e.svc.Store.(*store.Table), token.ID(ids[1]))

	for _, path := range []string{"/tokens", "/tokens?ownerId=alice", "/alerts"} {
		res := e.do(admin, "GET", path, nil)
		require.Equal(t, http.StatusOK, res.status, "%s: %s", path, res.raw)
		got := idsOf(res.body["items"])
		require.ElementsMatch(t, []string{ids[0], ids[2]}, got, "%s lists the others and skips the bad item", path)
	}
	require.Equal(t, http.StatusOK, e.do(admin, "GET", "/approvals", nil).status)
}

func idsOf(items any) []string {
	var out []string
	for _, it := range items.([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}
