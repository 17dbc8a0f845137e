package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

// A token minted by one principal for another is delegated, along the whole chain, and
// every audit record it causes names both.
func TestDelegation(t *testing.T) {
	e := newEnv(t)
	b := e.create(admin, map[string]any{"name": "for alice", "ownerId": "alice", "scopes": []string{"tokens:read", "tokens:write"}, "type": "temporary"})
	require.Equal(t, true, b["delegated"])
	require.Equal(t, "admin", b["mintedBy"])
	lent := access.Caller{TokenID: b["id"].(string), OwnerID: "alice", MinterID: "admin", Scopes: []string{access.TokensRead, access.TokensWrite}}

	chained := e.create(lent, temp("chained"))
	require.Equal(t, true, chained["delegated"], "a token minted with a delegated token is delegated too")
	require.Equal(t, "admin", chained["mintedBy"], "with the same minter")

	res := e.do(lent, "POST", "/tokens/"+chained["id"].(string)+"/disable", map[string]any{"reason": "done"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	h := history(t, e, admin, chained["id"].(string))
	require.Equal(t, "alice", h[0]["actorId"])
	require.Equal(t, "admin", h[0]["actorMintedBy"], "the audit names the owner and the minter")
	require.Equal(t, "admin", h[1]["actorMintedBy"], "the create too")

	own := e.create(alice, temp("own"))
	require.Equal(t, false, own["delegated"])
	require.Equal(t, "alice", own["mintedBy"])
	require.Nil(t, history(t, e, admin, own["id"].(string))[0]["actorMintedBy"])
}

// GET /audit?actor=X also finds what others did with tokens X minted for them: an auditor
// following one person sees its delegated actions, once each, and no other listing
// shows the minter's copy.
func TestAuditActorIncludesMinter(t *testing.T) {
	e := newEnv(t)
	b := e.create(admin, map[string]any{"name": "for alice", "ownerId": "alice", "scopes": []string{"tokens:read", "tokens:write"}, "type": "temporary"})
	lent := access.Caller{TokenID: b["id"].(string), OwnerID: "alice", MinterID: "admin", Scopes: []string{access.TokensRead, access.TokensWrite}}
	chained := e.create(lent, temp("chained"))
	res := e.do(lent, "POST", "/tokens/"+chained["id"].(string)+"/disable", map[string]any{"reason": "done"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	e.create(alice, temp("own"))

	ids := func(q string) []string {
		var out []string
		for cursor := ""; ; {
			u := q + "&limit=1"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			res := e.do(admin, "GET", u, nil)
			require.Equal(t, http.StatusOK, res.status, res.raw)
			for _, it := range res.body["items"].([]any) {
				m := it.(map[string]any)
				out = append(out, m["type"].(string)+" "+m["actorId"].(string))
			}
			next, _ := res.body["nextCursor"].(string)
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	require.ElementsMatch(t, []string{"disable alice", "create alice", "create admin"}, ids("/audit?actor=admin"),
		"the minter's log: its own create and alice's two actions with the token it lent, once each")
	require.ElementsMatch(t, []string{"create alice", "disable alice", "create alice"}, ids("/audit?actor=alice"))
	require.Len(t, ids("/audit?type=create"), 3, "the whole log holds no copies")
	require.Len(t, history(t, e, admin, chained["id"].(string)), 2, "nor does a token's history")
}

// Temporary tokens live at most MAX_TEMPORARY_TOKEN_LIFETIME (12h by default) after
// create or rotate, whoever asks.
func TestTemporaryLifetime(t *testing.T) {
	e := newEnv(t)
	ok := temp("twelve hours")
	ok["expiresAt"] = e.clock.Now().Add(12 * 3600e9).UTC().Format("2006-01-02T15:04:05Z")
	b := e.create(admin, ok)
	too := temp("a week")
	too["expiresIn"] = "1w"
	requireInvalid(t, e.do(admin, "POST", "/tokens", too), "expiresIn")
	requireInvalid(t, e.do(admin, "POST", "/tokens/"+b["id"].(string)+"/rotate", map[string]any{"expiresIn": "1m"}), "expiresIn")
	res := e.do(admin, "POST", "/tokens/"+b["id"].(string)+"/rotate", map[string]any{"expiresAt": e.clock.Now().Add(3600e9).UTC().Format("2006-01-02T15:04:05Z")})
	require.Equal(t, http.StatusOK, res.status, res.raw)
}
