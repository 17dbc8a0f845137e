package api_test

import (
	"net/http"
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
