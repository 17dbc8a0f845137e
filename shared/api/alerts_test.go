package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/api"
)

func TestAlerts(t *testing.T) {
	e := newEnv(t)
	e.mux.Handle("GET /alerts", api.Alerts(e.svc))
	now := e.clock.Now()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	perm := func(owner, name string, d time.Duration) string {
		b := e.create(admin, map[string]any{"name": name, "scopes": []string{"tokens:read"}, "ownerId": owner, "expiresAt": at(d)})
		return b["id"].(string)
	}
	soon := perm("alice", "soon", 36*time.Hour)
	later := perm("alice", "later", 5*24*time.Hour)
	perm("alice", "outside the window", 10*24*time.Hour)
	bobs := perm("bob", "bob's", 3*24*time.Hour)
	revoked := perm("alice", "revoked", 2*24*time.Hour)
	require.Equal(t, http.StatusNoContent, e.do(admin, "DELETE", "/tokens/"+revoked, nil).status)
	e.create(alice, temp("temporary tokens are not alerts"))

	items := func(c access.Caller) ([]string, []float64) {
		t.Helper()
		res := e.do(c, "GET", "/alerts", nil)
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Contains(t, res.body, "nextCursor")
		require.Nil(t, res.body["nextCursor"], "one page: the window bounds the list")
		var ids []string
		var days []float64
		for _, it := range res.body["items"].([]any) {
			m := it.(map[string]any)
			ids = append(ids, m["id"].(string))
			days = append(days, m["daysLeft"].(float64))
			require.NotEmpty(t, m["hint"])
			require.NotEmpty(t, m["expiresAt"])
			require.Equal(t, "active", m["status"])
			require.NotContains(t, m, "token", "never a secret")
		}
		return ids, days
	}

	t.Run("Owner", func(t *testing.T) {
		ids, days := items(alice)
		require.Equal(t, []string{soon, later}, ids, "own tokens only, soonest first")
		require.Equal(t, []float64{2, 5}, days)
		ids, _ = items(reader)
		require.Equal(t, []string{soon, later}, ids, "tokens:read is enough")
	})
	t.Run("Admin", func(t *testing.T) {
		ids, days := items(admin)
		require.Equal(t, []string{soon, bobs, later}, ids, "every owner's tokens")
		require.Equal(t, []float64{2, 3, 5}, days)
	})
	t.Run("OtherOwner", func(t *testing.T) {
		ids, _ := items(bob)
		require.Equal(t, []string{bobs}, ids)
	})
	t.Run("NoScope", func(t *testing.T) {
		res := e.do(access.Caller{TokenID: "x", OwnerID: "alice", Scopes: []string{"orders:read"}}, "GET", "/alerts", nil)
		require.Equal(t, http.StatusForbidden, res.status, res.raw)
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		require.Equal(t, http.StatusUnauthorized, e.do(access.Caller{}, "GET", "/alerts", nil).status)
	})
	t.Run("UnknownParameter", func(t *testing.T) {
		requireInvalid(t, e.do(alice, "GET", "/alerts?ownerId=bob", nil), "ownerId")
	})
}
