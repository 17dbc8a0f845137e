package authorizer

// The authorizer's rules, decided by pure functions of what one read found (the token,
// its owner, its ancestors), the request and the time: these tables need no stack and
// no store. The glue around them (parse, the caches, the rate counters, the log) is
// tested through the authorizer's ports in memory (check_test.go) and on DynamoDB Local
// (authorizer_test.go, restrict_test.go, converge_test.go).

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// now is a Tuesday, 10:00 UTC.
var now = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

const (
	tokenID  token.ID = "OWNERREFaaaaaaaaaaaaaaaaaaaaaa"
	parentID token.ID = "OWNERREFpppppppppppppppppppppp"
	rootID   token.ID = "OWNERREFrrrrrrrrrrrrrrrrrrrrrr"
)

var (
	office  = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	lab     = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	workday = &restriction.TimeWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, StartHour: 9, EndHour: 17}
	night   = &restriction.TimeWindow{Days: []string{"tue"}, StartHour: 0, EndHour: 6}
)

// readOK is what a read of an active token of alice found: the secret matched, alice
// holds tokens:read, nothing restricts it.
func readOK(edit ...func(e *cached)) *cached {
	owner := &access.Principal{ID: "alice", Version: 7, Incarnation: "inc-1", CreatedAt: now.Add(-48 * time.Hour)}
	t := &token.Token{ID: tokenID, OwnerID: "alice", CreatedBy: "alice", OwnerIncarnation: "inc-1", Status: token.StatusActive,
		Scopes: []string{access.TokensRead}, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(24 * time.Hour), Version: 3}
	e := &cached{t: t, owner: owner, secretOK: true, alive: true, scopes: []string{access.TokensRead}, risk: access.RiskLow}
	for _, f := range edit {
		f(e)
	}
	return e
}

func TestDecide(t *testing.T) {
	routes, err := NewRouteTable(map[string][]string{"GET /orders/{id}": {"orders:read"}, "GET /things": {access.TokensRead}})
	require.NoError(t, err)
	ancestor := func(r restriction.Set) func(e *cached) {
		return func(e *cached) { e.lineage = []*token.Token{{ID: parentID, Restrictions: r}} }
	}
	tests := []struct {
		name  string
		entry *cached
		ip    string
		route string
		at    time.Time
		want  Reason
	}{
		{"an active token of an owner who holds its scopes", readOK(), "", "", now, ReasonOK},

		// The token as stored.
		{"a wrong secret", readOK(func(e *cached) { e.secretOK = false }), "", "", now, ReasonBadSecret},
		{"a wrong secret, whatever else is wrong", readOK(func(e *cached) { e.secretOK = false; e.t.Status = token.StatusRevoked; e.owner = nil }), "", "", now, ReasonBadSecret},
		{"past its expiry", readOK(), "", "", now.Add(24 * time.Hour), ReasonExpired},
		{"disabled and past its expiry: expired", readOK(func(e *cached) { e.t.Status = token.StatusDisabled }), "", "", now.Add(25 * time.Hour), ReasonExpired},
		{"disabled", readOK(func(e *cached) { e.t.Status = token.StatusDisabled }), "", "", now, ReasonInactive},
		{"revoked", readOK(func(e *cached) { e.t.Status = token.StatusRevoked }), "", "", now, ReasonInactive},
		{"pending approval", readOK(func(e *cached) { e.t.Status = token.StatusPending }), "", "", now, ReasonInactive},
		{"rejected", readOK(func(e *cached) { e.t.Status = token.StatusRejected }), "", "", now, ReasonInactive},
		{"stored restrictions that do not parse", readOK(func(e *cached) { e.t.Unreadable = []string{"ipAllowlist"} }), "", "", now, ReasonBadData},

		// Its lineage and its owner.
		{"a temporary token whose parent ended", readOK(func(e *cached) { e.alive = false }), "", "", now, ReasonParentEnded},
		{"an owner deleted", readOK(func(e *cached) { e.owner = nil }), "", "", now, ReasonOwnerGone},
		{"an owner deleted and created again (a new incarnation)", readOK(func(e *cached) { e.owner.Incarnation = "inc-2" }), "", "", now, ReasonOwnerGone},
		{"an owner stored before incarnations, created after the token", readOK(func(e *cached) {
			e.owner.Incarnation, e.t.OwnerIncarnation, e.owner.CreatedAt = "", "", now.Add(-time.Minute)
		}), "", "", now, ReasonOwnerGone},
		{"an owner stored before incarnations, older than the token", readOK(func(e *cached) {
			e.owner.Incarnation, e.t.OwnerIncarnation = "", ""
		}), "", "", now, ReasonOK},
		{"an owner who holds none of its scopes now", readOK(func(e *cached) { e.scopes = nil }), "", "", now, ReasonOwnerScopes},

		// Its restrictions, its bounds, its ancestors' as they are now.
		{"inside its IP allowlist", readOK(func(e *cached) { e.t.Restrictions.IPAllowlist = office }), "203.0.113.9", "", now, ReasonOK},
		{"outside its IP allowlist", readOK(func(e *cached) { e.t.Restrictions.IPAllowlist = office }), "198.51.100.1", "", now, ReasonIP},
		{"no source address and an allowlist (a TOKEN event)", readOK(func(e *cached) { e.t.Restrictions.IPAllowlist = office }), "", "", now, ReasonIP},
		{"outside an allowlist its parent had when it minted it", readOK(func(e *cached) { e.t.Bounds.IPAllowlists = [][]netip.Prefix{lab} }), "203.0.113.9", "", now, ReasonIP},
		{"outside an allowlist its parent has now", readOK(ancestor(restriction.Set{IPAllowlist: lab})), "203.0.113.9", "", now, ReasonIP},
		{"an ancestor gone from the table binds through its bounds only", readOK(func(e *cached) { e.lineage = []*token.Token{nil} }), "203.0.113.9", "", now, ReasonOK},
		{"inside its time window", readOK(func(e *cached) { e.t.Restrictions.TimeRestriction = workday }), "", "", now, ReasonOK},
		{"outside its time window", readOK(func(e *cached) { e.t.Restrictions.TimeRestriction = night }), "", "", now, ReasonTime},
		{"outside a window its parent had when it minted it", readOK(func(e *cached) { e.t.Bounds.TimeWindows = []restriction.TimeWindow{*night} }), "", "", now, ReasonTime},
		{"outside a window its parent has now", readOK(ancestor(restriction.Set{TimeRestriction: night})), "", "", now, ReasonTime},
		{"emergency access lifts the IP allowlist and the time window", readOK(func(e *cached) {
			e.t.Restrictions = restriction.Set{IPAllowlist: office, TimeRestriction: night}
			e.t.Bounds = restriction.Bounds{IPAllowlists: [][]netip.Prefix{lab}, TimeWindows: []restriction.TimeWindow{*night}}
			e.lineage = []*token.Token{{ID: parentID, Restrictions: restriction.Set{IPAllowlist: lab, TimeRestriction: night}}}
			e.t.EmergencyUntil = now.Add(time.Minute)
		}), "192.0.2.1", "", now, ReasonOK},
		{"emergency access that ended lifts nothing", readOK(func(e *cached) {
			e.t.Restrictions.IPAllowlist = office
			e.t.EmergencyUntil = now
		}), "192.0.2.1", "", now, ReasonIP},
		{"emergency access never lifts the owner's scopes", readOK(func(e *cached) { e.scopes = nil; e.t.EmergencyUntil = now.Add(time.Hour) }), "", "", now, ReasonOwnerScopes},

		// The route.
		{"a route it holds the scopes of", readOK(), "", "GET /things", now, ReasonOK},
		{"a route that needs a scope it lacks", readOK(), "", "GET /orders/{id}", now, ReasonRouteScope},
		{"a concrete path of a template it lacks the scope of", readOK(), "", "GET /orders/42", now, ReasonRouteScope},
		{"a route ROUTE_SCOPES does not list", readOK(), "", "POST /things", now, ReasonUnlisted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := routes
			if tt.route == "" {
				rt = nil
			}
			d := decide(tt.entry, tokenID, Request{SourceIP: tt.ip, Route: tt.route}, rt, tt.at)
			require.Equal(t, tt.want, d.Reason)
			require.Equal(t, tt.want == ReasonOK, d.Allow)
			require.Equal(t, tokenID, d.TokenID, "every decision past the parse names the token")
			if !d.Allow {
				require.Zero(t, d.Caller, "a refusal carries no caller")
			}
		})
	}
}

func TestDecideAllowsAsTheOwnerHoldsNow(t *testing.T) {
	e := readOK(func(e *cached) {
		e.t.Scopes = []string{access.TokensRead, access.TokensWrite}
		e.t.MintedBy = "admin"
		e.scopes, e.risk = []string{access.TokensRead}, access.RiskLow // the owner lost tokens:write
	})
	d := decide(e, tokenID, Request{}, nil, now)
	require.True(t, d.Allow)
	require.Equal(t, access.Caller{TokenID: string(tokenID), OwnerID: "alice", MinterID: "admin", Scopes: []string{access.TokensRead},
		Risk: access.RiskLow, OwnerVersion: 7, OwnerIncarnation: "inc-1", TokenVersion: 3}, d.Caller,
		"the scopes the owner still holds, the minter, and the versions a create checks in its write")
}

func TestRateCounters(t *testing.T) {
	perMinute := func(n int) *restriction.RateLimit { return &restriction.RateLimit{Limit: n, Per: "minute"} }
	tests := []struct {
		name    string
		tok     *token.Token
		lineage []*token.Token
		want    []restriction.RateBound
	}{
		{"unlimited: no counter", &token.Token{ID: tokenID}, nil, nil},
		{"its own limit, under its own id", &token.Token{ID: tokenID, Restrictions: restriction.Set{RateLimit: perMinute(10)}}, nil,
			[]restriction.RateBound{{Key: restriction.TokenKey(string(tokenID)), Limit: *perMinute(10)}}},
		{"a parent's limit copied at minting, under the parent's id", &token.Token{ID: tokenID,
			Bounds: restriction.Bounds{Rates: []restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(100)}}}}, nil,
			[]restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(100)}}},
		{"the parent's limit as it is now, lowered since: the lower one, one counter",
			&token.Token{ID: tokenID, Bounds: restriction.Bounds{Rates: []restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(100)}}}},
			[]*token.Token{{ID: parentID, Restrictions: restriction.Set{RateLimit: perMinute(5)}}},
			[]restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(5)}}},
		{"the same ancestor per second and per minute: two counters",
			&token.Token{ID: tokenID, Bounds: restriction.Bounds{Rates: []restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(100)}}}},
			[]*token.Token{{ID: parentID, Restrictions: restriction.Set{RateLimit: &restriction.RateLimit{Limit: 3, Per: "second"}}}},
			[]restriction.RateBound{{Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(100)}, {Key: restriction.TokenKey(string(parentID)), Limit: restriction.RateLimit{Limit: 3, Per: "second"}}}},
		{"its own, its parent's and its root's, in that order; a gone ancestor counts nothing",
			&token.Token{ID: tokenID, Restrictions: restriction.Set{RateLimit: perMinute(1)}},
			[]*token.Token{{ID: parentID, Restrictions: restriction.Set{RateLimit: perMinute(2)}}, nil, {ID: rootID, Restrictions: restriction.Set{RateLimit: perMinute(3)}}},
			[]restriction.RateBound{{Key: restriction.TokenKey(string(tokenID)), Limit: *perMinute(1)}, {Key: restriction.TokenKey(string(parentID)), Limit: *perMinute(2)}, {Key: restriction.TokenKey(string(rootID)), Limit: *perMinute(3)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, rateCounters(tt.tok, tt.lineage))
		})
	}
}

func TestLivesOn(t *testing.T) {
	active := &token.Token{ID: parentID, Status: token.StatusActive}
	withStatus := func(s token.Status) *token.Token { return &token.Token{ID: parentID, Status: s} }
	temporary := &token.Token{ID: tokenID, Ancestors: []token.ID{parentID}, EndsWith: []token.ID{parentID}}
	permanent := &token.Token{ID: tokenID, Ancestors: []token.ID{parentID}}
	tests := []struct {
		name string
		tok  *token.Token
		read map[token.ID]*token.Token
		want bool
	}{
		{"a temporary token of an active parent", temporary, map[token.ID]*token.Token{parentID: active}, true},
		{"a temporary token whose parent was revoked", temporary, map[token.ID]*token.Token{parentID: withStatus(token.StatusRevoked)}, false},
		{"a temporary token whose parent was disabled", temporary, map[token.ID]*token.Token{parentID: withStatus(token.StatusDisabled)}, false},
		{"a temporary token whose parent expired", temporary, map[token.ID]*token.Token{parentID: {ID: parentID, Status: token.StatusActive, ExpiresAt: now}}, false},
		{"a temporary token whose parent is gone from the table", temporary, map[token.ID]*token.Token{parentID: nil}, false},
		{"a temporary token whose parent is unreadable", temporary, map[token.ID]*token.Token{parentID: {ID: parentID, Status: token.StatusActive, Unreadable: []string{"rateLimit"}}}, false},
		{"a temporary token whose grandparent ended", &token.Token{ID: tokenID, Ancestors: []token.ID{parentID, rootID}, EndsWith: []token.ID{parentID, rootID}},
			map[token.ID]*token.Token{parentID: active, rootID: {ID: rootID, Status: token.StatusRevoked}}, false},
		{"a permanent token outlives its parent", permanent, map[token.ID]*token.Token{parentID: withStatus(token.StatusRevoked)}, true},
		{"a permanent token of a parent gone from the table", permanent, map[token.ID]*token.Token{parentID: nil}, true},
		{"a permanent token of an unreadable ancestor: restricted to nothing", permanent,
			map[token.ID]*token.Token{parentID: {ID: parentID, Status: token.StatusRevoked, Unreadable: []string{"ipAllowlist"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, livesOn(tt.tok, tt.read, now))
		})
	}
}

func TestHowLongAReadIsReused(t *testing.T) {
	const ttl, negative = 30 * time.Second, 5 * time.Second
	t.Run("an ancestor", func(t *testing.T) {
		tests := []struct {
			name string
			anc  *token.Token
			want time.Duration
		}{
			{"active: CacheTTL", &token.Token{Status: token.StatusActive}, ttl},
			{"gone: NegativeTTL", nil, negative},
			{"disabled: NegativeTTL, so enabling it revives its children soon", &token.Token{Status: token.StatusDisabled}, negative},
			{"expired: NegativeTTL", &token.Token{Status: token.StatusActive, ExpiresAt: now}, negative},
			{"unreadable: NegativeTTL", &token.Token{Status: token.StatusActive, Unreadable: []string{"x"}}, negative},
		}
		for _, tt := range tests {
			require.Equal(t, tt.want, ancestorTTL(tt.anc, now, ttl, negative), tt.name)
		}
		require.Equal(t, 2*time.Second, ancestorTTL(nil, now, 2*time.Second, negative), "never longer than CacheTTL")
	})
	t.Run("a token", func(t *testing.T) {
		tests := []struct {
			name  string
			entry *cached
			want  time.Duration
		}{
			{"allowed: CacheTTL", readOK(), ttl},
			{"pending: not at all, so an approval works at once", readOK(func(e *cached) { e.t.Status = token.StatusPending }), 0},
			{"a wrong secret: NegativeTTL", readOK(func(e *cached) { e.secretOK = false }), negative},
			{"disabled: NegativeTTL", readOK(func(e *cached) { e.t.Status = token.StatusDisabled }), negative},
			{"revoked: NegativeTTL", readOK(func(e *cached) { e.t.Status = token.StatusRevoked }), negative},
			{"expired: NegativeTTL", readOK(func(e *cached) { e.t.ExpiresAt = now }), negative},
			{"unreadable: NegativeTTL", readOK(func(e *cached) { e.t.Unreadable = []string{"x"} }), negative},
			{"its parent ended: NegativeTTL", readOK(func(e *cached) { e.alive = false }), negative},
		}
		for _, tt := range tests {
			require.Equal(t, tt.want, entryTTL(tt.entry, now, ttl, negative), tt.name)
		}
	})
}

func TestCacheKeyHoldsNoSecret(t *testing.T) {
	var mac [32]byte
	mac[0] = 0xAB
	k := keyOf(token.Presented{ID: tokenID, Secret: token.Secret{}, Key: mac})
	require.Equal(t, mac, k.mac)
	require.Equal(t, string(tokenID), string(k.id[:len(tokenID)]))
	require.Zero(t, k.id[len(tokenID)], "zero-padded")
	require.NotEqual(t, k, keyOf(token.Presented{ID: tokenID}), "another secret for the same id is another key")
}

func TestReasonsThatRejectTheToken(t *testing.T) {
	for _, r := range []Reason{ReasonMissing, ReasonMalformed, ReasonForged, ReasonUnknown, ReasonBadSecret, ReasonInactive,
		ReasonExpired, ReasonOwnerGone, ReasonParentEnded, ReasonOwnerScopes, ReasonBadData, ReasonStoreFailed} {
		require.True(t, r.Rejected(), "%s: REST answers 401", r)
	}
	for _, r := range []Reason{ReasonIP, ReasonTime, ReasonRateLimited, ReasonRouteScope, ReasonUnlisted} {
		require.False(t, r.Rejected(), "%s: a valid token refused this request, REST answers 403", r)
	}
}
