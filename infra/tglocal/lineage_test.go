package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/restriction"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// The measurements of the lineage issue, each an attack through the local gateway with
// the real authorizer and handlers (DynamoDB Local, the KMS emulator): every refused
// request is a problem+json and leaves every table item as it was.

// adminAll is the localtest admin (no superuser) calling with every built-in scope.
var adminAll = access.Caller{TokenID: "admin-all", OwnerID: "admin", Scopes: rootOwn.Scopes}

// session mints a temporary token of c's for c (a session: default TTL) and returns its
// string.
func (s *stack) session(c access.Caller, name string, scopes ...string) (string, *token.Token) {
	s.t.Helper()
	return s.mint(c, token.CreateInput{Name: name, Type: token.TypeTemporary, Scopes: scopes})
}

// created reads a 201 or 200 answer that carries a secret.
func created(t *testing.T, a answer) (string, string) {
	t.Helper()
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, a.status, a.raw)
	return a.body["id"].(string), a.body["token"].(string)
}

// Measurement 1 (High): a tokens:admin holder who is not a superuser rotates another
// principal's high-risk token and receives a working secret carrying its authority.
func TestRotatingAnothersTokenIsIssuance(t *testing.T) {
	s := newStack(t)
	adminTok, _ := s.session(adminAll, "admin console", access.TokensRead, access.TokensWrite, access.TokensAdmin, access.EmergencyActivate)
	rootTok, rootToken := s.session(rootOwn, "root's glass", access.EmergencyActivate, access.TokensRead)
	require.Equal(t, token.StatusActive, rootToken.Status, "a session of root's own")
	path := "/tokens/" + string(rootToken.ID)

	a := s.call(adminTok, "POST", path+"/rotate", `{"gracePeriod":"1h"}`)
	_, rotated := created(t, a)
	require.Equal(t, "pending", a.body["status"], "issuance to someone but the owner waits for a second admin")
	require.Equal(t, true, a.body["delegated"])
	require.Equal(t, "admin", a.body["mintedBy"])
	s.unchanged(func() {
		require.Equal(t, http.StatusUnauthorized, s.call(rotated, "GET", "/tokens/self", "").status, "the new secret works only after approval")
		refused(t, s.call(adminTok, "POST", "/approvals/"+string(rootToken.ID)+"/approve", `{"reason":"mine"}`), http.StatusForbidden, "requester")
	})
	// The old secret is refused, grace period or not, and its use recorded as a reuse.
	require.Equal(t, http.StatusUnauthorized, s.call(rootTok, "GET", "/tokens/self", "").status, "nor does the old one, grace period or not")

	// An admin whose calling token lacks a scope of the token cannot rotate it at all.
	lowTok, _ := s.session(adminOwn, "admin low", access.TokensRead, access.TokensWrite, access.TokensAdmin)
	_, other := s.session(rootOwn, "root's other", access.EmergencyActivate, access.TokensRead)
	s.unchanged(func() {
		refused(t, s.call(lowTok, "POST", "/tokens/"+string(other.ID)+"/rotate", ""), http.StatusForbidden, "emergency:activate")
	})
}

// Measurement 3 (High): a token an admin minted for principal P is delegated; P rotates
// it with its own low-scope token, and the result was P's own, kept the admin scopes and
// approved.
func TestRotationNeverLaundersDelegation(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	rootTok, _ := s.mint(rootOwn, token.CreateInput{Name: "root", Scopes: rootOwn.Scopes, Type: token.TypeTemporary})
	a := s.call(rootTok, "POST", "/tokens", `{"name":"lent","ownerId":"admin","scopes":["tokens:admin","tokens:read","tokens:write"],"reason":"cover","type":"temporary"}`)
	lentID, lent := created(t, a)
	require.Equal(t, true, a.body["delegated"])
	lowTok, _ := s.session(adminOwn, "admin low", access.TokensRead, access.TokensWrite)
	// Someone else's high-risk request, waiting.
	_, pending := s.mint(rootOwn, token.CreateInput{Name: "root's request", Scopes: []string{access.EmergencyActivate}, Reason: "on call"})
	require.Equal(t, token.StatusPending, pending.Status)

	s.unchanged(func() {
		refused(t, s.call(lowTok, "POST", "/tokens/"+lentID+"/rotate", ""), http.StatusForbidden, "tokens:admin")
	})
	// Rotating it with itself gives a new secret for the same, still delegated token.
	a = s.call(lent, "POST", "/tokens/"+lentID+"/rotate", "")
	_, again := created(t, a)
	require.Equal(t, true, a.body["delegated"], a.raw)
	require.Equal(t, "root", a.body["mintedBy"])
	s.unchanged(func() {
		refused(t, s.call(again, "POST", "/approvals/"+string(pending.ID)+"/approve", `{"reason":"x"}`), http.StatusForbidden, "delegated")
	})
	_, err := s.svc.Get(ctx, rootOwn, token.ID(lentID))
	require.NoError(t, err)
}

// Measurement 4 (Medium): the owner "tightens" an admin-set restriction to the same
// value, becomes its setter, then clears it.
func TestTighteningARestrictionKeepsItsSetter(t *testing.T) {
	s := newStack(t)
	aliceTok, _ := s.session(aliceOwn, "alice", access.TokensRead, access.TokensWrite)
	_, bound := s.mint(adminOwn, token.CreateInput{Name: "bound", OwnerID: "alice", Scopes: []string{access.TokensRead}, Type: token.TypeTemporary,
		IPAllowlist: []string{"203.0.113.0/24"}, RateLimit: &restriction.RateLimit{Limit: 10, Per: "minute"},
		TimeRestriction: &restriction.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 9, EndHour: 17}})
	path := "/tokens/" + string(bound.ID)
	a := s.call(aliceTok, "PATCH", path, `{"ipAllowlist":["203.0.113.0/24"],"rateLimit":{"limit":10,"per":"minute"},"timeRestriction":{"days":["mon","tue"],"startHour":9,"endHour":17},"reason":"same"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, map[string]any{"ipAllowlist": "admin", "rateLimit": "admin", "timeRestriction": "admin"}, a.body["restrictionsSetBy"])
	s.unchanged(func() {
		refused(t, s.call(aliceTok, "PATCH", path, `{"ipAllowlist":[],"reason":"mine now?"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"rateLimit":null,"reason":"mine now?"}`), http.StatusForbidden, "tokens:admin")
		refused(t, s.call(aliceTok, "PATCH", path, `{"timeRestriction":null,"reason":"mine now?"}`), http.StatusForbidden, "tokens:admin")
	})
}

// Measurement 5 (Medium): a restricted token with tokens:write mints a temporary child
// with the same scopes and no restriction; N children get N times its rate.
func TestChildrenKeepTheirParentsBounds(t *testing.T) {
	s := newStack(t)
	parentTok, parent := s.mint(aliceOwn, token.CreateInput{Name: "restricted", Scopes: aliceOwn.Scopes, Type: token.TypeTemporary,
		IPAllowlist:     []string{"127.0.0.1", "203.0.113.0/24"},
		RateLimit:       &restriction.RateLimit{Limit: 5, Per: "minute"},
		TimeRestriction: &restriction.TimeWindow{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, StartHour: 0, EndHour: 24}})
	child := `{"name":"child %d","scopes":["tokens:read","tokens:write"],"type":"temporary"}`
	a := s.call(parentTok, "POST", "/tokens", fmt.Sprintf(child, 1)) // the family's 1st request
	id1, tok1 := created(t, a)
	require.Equal(t, string(parent.ID), a.body["parentId"])
	inherited := a.body["inheritedRestrictions"].(map[string]any)
	require.Equal(t, []any{[]any{"127.0.0.1/32", "203.0.113.0/24"}}, inherited["ipAllowlists"])
	require.Equal(t, []any{map[string]any{"tokenId": string(parent.ID), "limit": float64(5), "per": "minute"}}, inherited["rateLimits"])
	require.NotEmpty(t, inherited["timeRestrictions"])
	_, tok2 := created(t, s.call(parentTok, "POST", "/tokens", fmt.Sprintf(child, 2))) // 2nd

	// One counter for the family: 5 a minute in all, not 5 each.
	for i, tok := range []string{tok1, tok1, tok2} { // 3rd to 5th
		require.Equal(t, http.StatusOK, s.call(tok, "GET", "/tokens/self", "").status, i)
	}
	require.Equal(t, http.StatusForbidden, s.call(tok2, "GET", "/tokens/self", "").status, "the 6th request of the family")
	require.Equal(t, http.StatusForbidden, s.call(tok1, "GET", "/tokens/self", "").status)

	// The inherited allowlist holds wherever the child is used from, and an own one
	// outside it is refused.
	a2 := authorizer.New(authorizer.Config{Tokens: s.tb, Rates: s.tb, Keys: s.svc.Keys, Catalog: s.svc.Catalog, Prefix: s.svc.Prefix})
	d := a2.Check(context.Background(), authorizer.Request{Token: tok1, SourceIP: "198.51.100.7"})
	require.False(t, d.Allow)
	require.Equal(t, authorizer.ReasonIP, d.Reason)
	p2, _ := s.mint(aliceOwn, token.CreateInput{Name: "restricted 2", Scopes: aliceOwn.Scopes, Type: token.TypeTemporary, IPAllowlist: []string{"127.0.0.1"}})
	s.unchanged(func() {
		refused(t, s.call(p2, "POST", "/tokens", `{"name":"elsewhere","scopes":["tokens:read"],"type":"temporary","ipAllowlist":["198.51.100.0/24"]}`), http.StatusBadRequest, "ipAllowlist")
	})
	// A parent tightened later binds its children at once (no cache here): the
	// authorizer applies every ancestor's restrictions as they are now.
	notToday := strings.ToLower(time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3])
	a = s.call(adminTokFor(t, s), "PATCH", "/tokens/"+string(parent.ID), `{"timeRestriction":{"days":["`+notToday+`"],"startHour":0,"endHour":24},"reason":"tighter"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	d = a2.Check(context.Background(), authorizer.Request{Token: tok2, SourceIP: "127.0.0.1"})
	require.Equal(t, authorizer.ReasonTime, d.Reason, "outside the parent's new window")
	// No update loosens what a child inherited: clearing its own allowlist leaves it.
	a = s.call(adminTokFor(t, s), "PATCH", "/tokens/"+id1, `{"ipAllowlist":[],"reason":"admin clears"}`)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.NotNil(t, a.body["inheritedRestrictions"])
	d = a2.Check(context.Background(), authorizer.Request{Token: tok1, SourceIP: "198.51.100.7"})
	require.Equal(t, authorizer.ReasonIP, d.Reason)
}

// adminTokFor is a session of the localtest admin (tokens:admin, no superuser).
func adminTokFor(t *testing.T, s *stack) string {
	t.Helper()
	tok, _ := s.session(adminOwn, "admin", access.TokensRead, access.TokensWrite, access.TokensAdmin)
	return tok
}

// Measurement 7 (Medium): a high-risk session made without approval was rotated to the
// 12h cap, rotated again for ever, and survived the revocation of the approved token that
// minted it. Here: it keeps its end, and it dies with its parent on a warm instance too.
func TestSessionsEndWithTheirParent(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Second} {
		t.Run(fmt.Sprintf("cache %s", ttl), func(t *testing.T) {
			ctx := context.Background()
			svc := localtest.Service(t, nil)
			srv := httptest.NewServer(testServer(t, localtest.Template(t), svc, ttl, nil).Handler)
			t.Cleanup(srv.Close)
			s := &stack{t: t, svc: svc, tb: svc.Store.(*store.Table), url: srv.URL}

			// admin's approved high-risk token, its parent.
			parentTok, parent := s.mint(adminAll, token.CreateInput{Name: "approved", Scopes: []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.EmergencyActivate}, Reason: "on call"})
			require.Equal(t, token.StatusPending, parent.Status)
			_, err := svc.Approve(ctx, rootOwn, parent.ID, "ok")
			require.NoError(t, err)

			a := s.call(parentTok, "POST", "/tokens", `{"name":"console session","scopes":["emergency:activate","tokens:read","tokens:write","tokens:admin"],"type":"temporary","reason":"sign-in"}`)
			sessionID, sess := created(t, a)
			require.Equal(t, "active", a.body["status"], "a session is active at once")
			end := a.body["expiresAt"].(string)
			require.Equal(t, end, a.body["latestExpiry"])
			s.unchanged(func() {
				later := time.Now().UTC().Add(11 * time.Hour).Format(time.RFC3339)
				refused(t, s.call(sess, "POST", "/tokens/"+sessionID+"/rotate", `{"expiresAt":"`+later+`"}`), http.StatusBadRequest, "expiresAt")
			})
			_, child := created(t, s.call(sess, "POST", "/tokens", `{"name":"temp child","scopes":["tokens:read"],"type":"temporary"}`))
			ciID, ci := created(t, s.call(sess, "POST", "/tokens", `{"name":"ci","scopes":["tokens:read"],"expiresIn":"1y"}`))
			require.Equal(t, http.StatusOK, s.call(child, "GET", "/tokens/self", "").status, "warm: the child is cached")
			require.Equal(t, http.StatusOK, s.call(sess, "GET", "/tokens/self", "").status)

			require.Equal(t, http.StatusNoContent, s.call(parentTok, "DELETE", "/tokens/"+string(parent.ID), "").status)
			deadline := time.Now().Add(ttl + 2*time.Second)
			for _, tok := range []string{sess, child} {
				for s.call(tok, "GET", "/tokens/self", "").status != http.StatusUnauthorized {
					require.True(t, time.Now().Before(deadline), "a session outlived its parent beyond the cache TTL")
					time.Sleep(100 * time.Millisecond)
				}
			}
			a = s.call(ci, "GET", "/tokens/self", "")
			require.Equal(t, http.StatusOK, a.status, "a permanent token minted through the session lives on its own")
			require.Equal(t, sessionID, a.body["parentId"])
			require.Equal(t, ciID, a.body["id"])
		})
	}
}

// Measurement 8 (Low), the JSON part: /enroll and /leaked-tokens took form-encoded bodies,
// which any page may post cross-site. Every body-taking route is JSON only.
func TestManagementAcceptsJSONOnly(t *testing.T) {
	s := newStack(t)
	tok, victim := s.session(aliceOwn, "victim", access.TokensRead)
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""} {
		s.unchanged(func() {
			for _, route := range []struct{ path, body string }{
				{"/leaked-tokens", `{"tokens":["` + tok + `"]}`},
				{"/enroll", `{"enrollmentToken":"tge_1_` + strings.Repeat("0", 64) + `"}`},
			} {
				req, err := http.NewRequest("POST", s.url+route.path, strings.NewReader(route.body))
				require.NoError(t, err)
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode, route.path+" as "+ct)
				require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
			}
		})
	}
	got, err := s.svc.Get(context.Background(), aliceOwn, victim.ID)
	require.NoError(t, err)
	require.Equal(t, token.StatusActive, got.Status, "no cross-site report revoked it")
}

// POST /tokens/self/rotate: the calling token rotates itself, keeping its lineage; a
// permanent token of a principal without tokens:admin may (it gains nothing), though it
// may not rotate another permanent token of its owner.
func TestSelfRotation(t *testing.T) {
	s := newStack(t)
	adminTok := adminTokFor(t, s)
	a := s.call(adminTok, "POST", "/tokens", `{"name":"ci","ownerId":"alice","scopes":["tokens:read","tokens:write"],"expiresIn":"1m"}`)
	ciID, ci := created(t, a)
	_, other := created(t, s.call(adminTok, "POST", "/tokens", `{"name":"other","ownerId":"alice","scopes":["tokens:read"],"expiresIn":"1m"}`))
	otherID := s.call(other, "GET", "/tokens/self", "").body["id"].(string)
	before := s.call(ci, "GET", "/tokens/self", "").body

	a = s.call(ci, "POST", "/tokens/self/rotate", `{"gracePeriod":"1h"}`)
	id, fresh := created(t, a)
	require.Equal(t, ciID, id)
	require.Equal(t, before["parentId"], a.body["parentId"], "the lineage stays")
	require.Equal(t, before["expiresAt"], a.body["expiresAt"], "and the expiry")
	require.Equal(t, "admin", a.body["mintedBy"], "and the minter")
	require.Equal(t, http.StatusOK, s.call(ci, "GET", "/tokens/self", "").status, "the old secret, within its grace period")
	require.Equal(t, http.StatusOK, s.call(fresh, "GET", "/tokens/self", "").status)
	s.unchanged(func() {
		refused(t, s.call(fresh, "POST", "/tokens/self/rotate", `{"expiresIn":"1y"}`), http.StatusForbidden, "new expiry")
		refused(t, s.call(fresh, "POST", "/tokens/"+otherID+"/rotate", ""), http.StatusForbidden, "permanent")
	})
}
