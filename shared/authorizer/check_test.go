package authorizer_test

// The authorizer's orchestration (parse, then the caches and reads, then decide, then
// the rate counters and usage, then the answer and its log line) through its own ports
// in memory (memory_test.go): no stack. The same behaviours run on DynamoDB Local in
// authorizer_test.go, restrict_test.go and converge_test.go.

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// world is a table in memory with alice in it, a clock, and the authorizers made on them.
type world struct {
	keys   *token.Keyring
	tokens *memTokens
	rates  *memRates
	clock  *clock
	alice  *access.Principal
}

func newWorld() *world {
	// A Tuesday, 10:00 UTC.
	w := &world{keys: testKeys(), tokens: newMemTokens(), rates: &memRates{}, clock: &clock{now: time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}}
	w.alice = &access.Principal{ID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}, Version: 1, Incarnation: "inc-alice",
		CreatedAt: w.clock.Now().Add(-24 * time.Hour)}
	w.tokens.putOwner(w.alice)
	return w
}

// authorizer is one instance on the world's table and clock; cfg adds to that.
func (w *world) authorizer(cfg authorizer.Config) *authorizer.Authorizer {
	cfg.Tokens, cfg.Keys, cfg.Prefix, cfg.Now = w.tokens, w.keys, "tg", w.clock.Now
	if cfg.Rates == nil {
		cfg.Rates = w.rates
	}
	if cfg.Log == nil {
		cfg.Log = &lines{}
	}
	return authorizer.New(cfg)
}

// token stores an active token of alice with the scopes, as edit leaves it.
func (w *world) token(edit func(t *token.Token), scopes ...string) (*token.Token, string) {
	t, s := mint(w.keys, w.alice, w.clock.Now().Add(-time.Hour), scopes...)
	if edit != nil {
		edit(t)
	}
	w.tokens.putToken(t)
	return t, s
}

// child stores a token of alice that parent minted: temporary ones end with it.
func (w *world) child(parent *token.Token, typ token.Type, edit func(t *token.Token)) (*token.Token, string) {
	return w.token(func(t *token.Token) {
		t.Type, t.ParentID, t.Bounds = typ, parent.ID, parent.Limits()
		t.Ancestors = append([]token.ID{parent.ID}, parent.Ancestors...)
		if typ == token.TypeTemporary {
			t.EndsWith = []token.ID{parent.ID}
			if parent.Type == token.TypeTemporary {
				t.EndsWith = append(t.EndsWith, parent.EndsWith...)
			}
		}
		if edit != nil {
			edit(t)
		}
	})
}

func check(a *authorizer.Authorizer, s string) authorizer.Decision {
	return a.Check(context.Background(), authorizer.Request{Token: s, SourceIP: "203.0.113.9", Route: "GET /things"})
}

func reason(a *authorizer.Authorizer, s string) authorizer.Reason { return check(a, s).Reason }

func TestAllowsAnActiveTokenAsTheCallerItIs(t *testing.T) {
	w := newWorld()
	tok, s := w.token(func(t *token.Token) { t.MintedBy = "admin" }, access.TokensRead, access.TokensWrite)
	d := check(w.authorizer(authorizer.Config{}), s)
	require.True(t, d.Allow, d.Reason)
	require.Equal(t, authorizer.ReasonOK, d.Reason)
	require.Equal(t, tok.ID, d.TokenID)
	require.Equal(t, access.Caller{TokenID: string(tok.ID), OwnerID: "alice", MinterID: "admin", Scopes: []string{access.TokensRead, access.TokensWrite},
		Risk: access.RiskLow, OwnerVersion: 1, OwnerIncarnation: "inc-alice", TokenVersion: 1}, d.Caller)
}

func TestRefusesWhatItCannotParseWithoutReading(t *testing.T) {
	w := newWorld()
	tok, s := w.token(nil)
	other, _ := token.NewPepper(1, make([]byte, 32))
	forger, _ := token.NewKeyring(other)
	forged, _ := token.Generate("tg", tok.ID, forger, nil)
	unknownVersion, _ := token.NewPepper(9, make([]byte, 32))
	later, _ := token.NewKeyring(unknownVersion)
	fromLater, _ := token.Generate("tg", tok.ID, later, nil)
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	tests := []struct {
		name  string
		token string
		want  authorizer.Reason
	}{
		{"no token", "", authorizer.ReasonMissing},
		{"garbage", "tg_garbage", authorizer.ReasonMalformed},
		{"a mistyped token (bad checksum)", mistype(s), authorizer.ReasonMalformed},
		{"another deployment's prefix", "gh" + s[2:], authorizer.ReasonMalformed},
		{"truncated", s[:len(s)-1], authorizer.ReasonMalformed},
		{"a real id with a secret no pepper of ours tagged", forged.Plaintext.Reveal(), authorizer.ReasonForged},
		{"a pepper version the keyring does not have", fromLater.Plaintext.Reveal(), authorizer.ReasonForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := check(a, tt.token)
			require.False(t, d.Allow)
			require.Equal(t, tt.want, d.Reason)
			require.Empty(t, d.TokenID, "nothing it says is trusted, not even the id")
			require.Zero(t, w.tokens.roundTrips(), "refused without a read")
		})
	}
}

func TestRefusesAWrongSecretForARealID(t *testing.T) {
	w := newWorld()
	tok, _ := w.token(nil)
	other, _ := token.Generate("tg", tok.ID, w.keys, nil) // tagged by us, not the stored secret
	d := check(w.authorizer(authorizer.Config{}), other.Plaintext.Reveal())
	require.Equal(t, authorizer.ReasonBadSecret, d.Reason)
	require.Equal(t, tok.ID, d.TokenID)
}

func TestRefusesATokenByItsStatus(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	for _, st := range []token.Status{token.StatusDisabled, token.StatusRevoked, token.StatusPending, token.StatusRejected} {
		_, s := w.token(func(t *token.Token) { t.Status = st })
		require.Equal(t, authorizer.ReasonInactive, reason(a, s), st)
	}
	_, s := w.token(func(t *token.Token) { t.ExpiresAt = w.clock.Now() })
	require.Equal(t, authorizer.ReasonExpired, reason(a, s), "expiry is the authorizer's to check, never left to TTL")
	_, s = w.token(func(t *token.Token) { t.Unreadable = []string{"ipAllowlist"} })
	require.Equal(t, authorizer.ReasonBadData, reason(a, s), "stored data that does not parse refuses, never reads as no restriction")
}

func TestRefusesATokenWhoseOwnerIsGone(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	_, s := w.token(nil)
	require.True(t, check(a, s).Allow)

	w.tokens.deleteOwner("alice")
	require.Equal(t, authorizer.ReasonOwnerGone, reason(a, s), "deleted")

	again := *w.alice
	again.Incarnation, again.CreatedAt = "inc-alice-2", w.clock.Now()
	w.tokens.putOwner(&again)
	require.Equal(t, authorizer.ReasonOwnerGone, reason(a, s), "created again under the same id: someone new")

	bob := &access.Principal{ID: "bob", Scopes: []string{access.TokensRead}, Version: 1, Incarnation: "inc-bob"}
	w.tokens.putOwner(bob)
	_, s = w.token(func(t *token.Token) { t.OwnerID = "bob" }) // its id names alice
	require.Equal(t, authorizer.ReasonOwnerGone, reason(a, s), "an owner whose id the token's does not match is none")
}

func TestNeverGrantsMoreThanTheOwnerHoldsNow(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	_, s := w.token(nil, access.TokensRead, access.TokensWrite)
	narrowed := *w.alice
	narrowed.Scopes, narrowed.Version = []string{access.TokensRead}, 2
	w.tokens.putOwner(&narrowed)
	d := check(a, s)
	require.True(t, d.Allow)
	require.Equal(t, []string{access.TokensRead}, d.Caller.Scopes)
	require.EqualValues(t, 2, d.Caller.OwnerVersion)

	narrowed.Scopes = []string{access.AuditRead}
	w.tokens.putOwner(&narrowed)
	require.Equal(t, authorizer.ReasonOwnerScopes, reason(a, s))
}

func TestChecksRouteScopes(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{RouteScopes: map[string][]string{"GET /orders/{id}": {access.TokensAdmin}, "GET /things": {access.TokensRead}}})
	_, s := w.token(nil)
	at := func(route string) authorizer.Reason {
		return a.Check(context.Background(), authorizer.Request{Token: s, Route: route}).Reason
	}
	require.Equal(t, authorizer.ReasonOK, at("GET /things"))
	require.Equal(t, authorizer.ReasonRouteScope, at("GET /orders/{id}"))
	require.Equal(t, authorizer.ReasonRouteScope, at("GET /orders/7"))
	require.Equal(t, authorizer.ReasonUnlisted, at("DELETE /things"))
}

func TestAmbiguousRouteScopesRefuseEverything(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{RouteScopes: map[string][]string{"GET /a/{x}": {}, "GET /a/{y}": {}}})
	_, s := w.token(nil)
	require.Equal(t, authorizer.ReasonStoreFailed, reason(a, s), "a configuration that cannot decide fails closed")
	require.Zero(t, w.tokens.roundTrips())
}

func TestChecksRestrictionsUnlessEmergencyAccessIsOn(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	office := []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	tok, s := w.token(func(t *token.Token) { t.Restrictions.IPAllowlist = office })
	require.Equal(t, authorizer.ReasonIP, reason(a, s), "203.0.113.9 is not the office")
	_, night := w.token(func(t *token.Token) {
		t.Restrictions.TimeRestriction = &restriction.TimeWindow{Days: []string{"tue"}, StartHour: 0, EndHour: 6}
	})
	require.Equal(t, authorizer.ReasonTime, reason(a, night))

	w.tokens.change(tok.ID, func(t *token.Token) { t.EmergencyUntil = w.clock.Now().Add(time.Hour) })
	require.True(t, check(a, s).Allow, "emergency access lifts the allowlist")
	w.clock.Add(time.Hour)
	require.Equal(t, authorizer.ReasonIP, reason(a, s), "until it ends")
}

func TestRefusesATemporaryTokenWhoseParentWasRevoked(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	parent, _ := w.token(nil)
	_, temp := w.child(parent, token.TypeTemporary, nil)
	_, perm := w.child(parent, token.TypePermanent, nil)
	require.True(t, check(a, temp).Allow)

	w.tokens.change(parent.ID, func(t *token.Token) { t.Status = token.StatusRevoked })
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, temp), "a temporary token ends with its parent")
	require.True(t, check(a, perm).Allow, "a permanent token lives on its own")

	w.tokens.deleteToken(parent.ID)
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, temp), "a parent gone from the table ended")
	require.True(t, check(a, perm).Allow)
}

func TestRefusesATemporaryTokenWhoseGrandparentEnded(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	root, _ := w.token(nil)
	parent, _ := w.child(root, token.TypeTemporary, nil)
	_, s := w.child(parent, token.TypeTemporary, nil)
	require.True(t, check(a, s).Allow)
	w.tokens.change(root.ID, func(t *token.Token) { t.Status = token.StatusDisabled })
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, s))
}

func TestAppliesAnAncestorsRestrictionsAsTheyAreNow(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	parent, _ := w.token(nil)
	_, s := w.child(parent, token.TypePermanent, nil)
	require.True(t, check(a, s).Allow)

	w.tokens.change(parent.ID, func(t *token.Token) {
		t.Restrictions.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	})
	require.Equal(t, authorizer.ReasonIP, reason(a, s), "an ancestor tightened later binds its descendants at once")

	w.tokens.change(parent.ID, func(t *token.Token) {
		t.Restrictions.IPAllowlist = nil
		t.Restrictions.TimeRestriction = &restriction.TimeWindow{Days: []string{"sun"}, StartHour: 0, EndHour: 24}
	})
	require.Equal(t, authorizer.ReasonTime, reason(a, s))

	w.tokens.change(parent.ID, func(t *token.Token) { t.Unreadable = []string{"timeRestriction"} })
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, s), "an ancestor whose restrictions do not parse restricts everything")
}

func TestAppliesTheBoundsItWasMintedWithAfterItsParentIsGone(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	parent, _ := w.token(func(t *token.Token) {
		t.Restrictions.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	})
	_, s := w.child(parent, token.TypePermanent, nil)
	w.tokens.deleteToken(parent.ID)
	require.Equal(t, authorizer.ReasonIP, reason(a, s), "the parent's allowlist, as Bounds copied it")
}

func TestRateLimitsCountOneCounterPerFamily(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	parent, _ := w.token(func(t *token.Token) { t.Restrictions.RateLimit = &restriction.RateLimit{Limit: 3, Per: "minute"} })
	_, first := w.child(parent, token.TypeTemporary, nil)
	_, second := w.child(parent, token.TypeTemporary, nil)
	for _, s := range []string{first, second, first} {
		require.True(t, check(a, s).Allow)
	}
	require.Equal(t, authorizer.ReasonRateLimited, reason(a, second), "children share their parent's counter: never N times its rate")
	require.Equal(t, 4, w.rates.count(restriction.TokenKey(string(parent.ID)), w.clock.Now().Truncate(time.Minute), time.Minute))

	w.clock.Add(time.Minute)
	require.True(t, check(a, second).Allow, "a new window")
}

func TestRateLimitsCountItsOwnLimitUnderItsOwnID(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	tok, s := w.token(func(t *token.Token) { t.Restrictions.RateLimit = &restriction.RateLimit{Limit: 1, Per: "second"} })
	require.True(t, check(a, s).Allow)
	d := check(a, s)
	require.Equal(t, authorizer.ReasonRateLimited, d.Reason)
	require.False(t, d.Reason.Rejected(), "a valid token refused this request: 403, not 401")
	require.Equal(t, 2, w.rates.count(restriction.TokenKey(string(tok.ID)), w.clock.Now(), time.Second))
}

func TestRateLimitsFailClosed(t *testing.T) {
	w := newWorld()
	_, s := w.token(func(t *token.Token) { t.Restrictions.RateLimit = &restriction.RateLimit{Limit: 100, Per: "hour"} })
	_, unlimited := w.token(nil)

	a := authorizer.New(authorizer.Config{Tokens: w.tokens, Keys: w.keys, Prefix: "tg", Now: w.clock.Now, Log: &lines{}}) // no Rates
	require.Equal(t, authorizer.ReasonStoreFailed, reason(a, s), "no counter: refused")
	require.True(t, check(a, unlimited).Allow, "a token without a rate limit needs none")

	w.rates.err = errDown
	require.Equal(t, authorizer.ReasonStoreFailed, reason(w.authorizer(authorizer.Config{}), s), "a counter that cannot be reached: refused")
}

func TestFailsClosedWhenTheStoreFails(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	_, s := w.token(nil)
	w.tokens.failWith(errDown)
	d := check(a, s)
	require.Equal(t, authorizer.ReasonStoreFailed, d.Reason)
	require.NotEmpty(t, d.TokenID)
	w.tokens.failWith(nil)
	require.True(t, check(a, s).Allow, "an error is never cached")

	parent, _ := w.token(nil)
	_, child := w.child(parent, token.TypeTemporary, nil)
	w.tokens.manyErr = errDown
	require.Equal(t, authorizer.ReasonStoreFailed, reason(a, child), "ancestors that cannot be read: refused")
}

func TestAnUnknownIDIsRememberedForNegativeTTL(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, NegativeTTL: 5 * time.Second})
	tok, s := mint(w.keys, w.alice, w.clock.Now())
	require.Equal(t, authorizer.ReasonUnknown, reason(a, s))
	require.Equal(t, authorizer.ReasonUnknown, reason(a, s))
	require.Equal(t, 1, w.tokens.roundTrips(), "the second refusal reads nothing")

	w.tokens.putToken(tok) // created meanwhile
	require.Equal(t, authorizer.ReasonUnknown, reason(a, s), "within NegativeTTL")
	w.clock.Add(5 * time.Second)
	require.True(t, check(a, s).Allow, "then read again")
}

func TestACacheHitReadsNothing(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: 30 * time.Second})
	_, s := w.token(nil)
	for range 3 {
		require.True(t, check(a, s).Allow)
	}
	require.Equal(t, [3]int{0, 1, 0}, w.tokens.reads(), "one BatchGetItem of token and owner, then nothing")
}

func TestWithoutACacheEveryCheckReads(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{})
	_, s := w.token(nil)
	for range 3 {
		require.True(t, check(a, s).Allow)
	}
	require.Equal(t, 3, w.tokens.roundTrips())
}

func TestACachedRevocationTakesEffectWithinCacheTTL(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: 30 * time.Second})
	tok, s := w.token(nil)
	require.True(t, check(a, s).Allow)
	w.tokens.change(tok.ID, func(t *token.Token) { t.Status = token.StatusRevoked })
	w.clock.Add(30 * time.Second)
	require.Equal(t, authorizer.ReasonInactive, reason(a, s), "a revocation takes effect within AUTH_CACHE_TTL")
}

func TestARefusalIsReusedForNegativeTTLOnly(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, NegativeTTL: 5 * time.Second})
	tok, s := w.token(func(t *token.Token) { t.Status = token.StatusDisabled })
	require.Equal(t, authorizer.ReasonInactive, reason(a, s))
	w.tokens.change(tok.ID, func(t *token.Token) { t.Status = token.StatusActive })
	require.Equal(t, authorizer.ReasonInactive, reason(a, s), "reused")
	w.clock.Add(5 * time.Second)
	require.True(t, check(a, s).Allow, "enabled: works again after NegativeTTL, not CacheTTL")
}

func TestAPendingTokenIsNeverCached(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	tok, s := w.token(func(t *token.Token) { t.Status = token.StatusPending })
	require.Equal(t, authorizer.ReasonInactive, reason(a, s))
	w.tokens.change(tok.ID, func(t *token.Token) { t.Status = token.StatusActive })
	require.True(t, check(a, s).Allow, "approved: works at once")
}

func TestANewSecretIsReadAtOnceAndThePreviousOneLastsItsGracePeriod(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	tok, old := w.token(nil)
	require.True(t, check(a, old).Allow)

	// A rotation with a 10-second grace period.
	g, err := token.Generate("tg", tok.ID, w.keys, nil)
	require.NoError(t, err)
	w.tokens.change(tok.ID, func(t *token.Token) {
		t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = t.Hash, t.PepperVersion, w.clock.Now().Add(10*time.Second)
		t.Hash = w.keys.Current().Hash(g.Secret)
	})
	require.True(t, check(a, g.Plaintext.Reveal()).Allow, "another secret for a cached id is another key: read at once")
	w.clock.Add(time.Minute)
	require.Equal(t, authorizer.ReasonReused, reason(a, old), "past the grace period, within CacheTTL of the rotation: a reuse")

	// An instance that reads the previous secret within its grace period keeps it no longer.
	w.tokens.change(tok.ID, func(t *token.Token) { t.PrevValidUntil = w.clock.Now().Add(2 * time.Second) })
	fresh := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	require.True(t, check(fresh, old).Allow)
	w.clock.Add(time.Second)
	require.True(t, check(fresh, old).Allow)
	reads := w.tokens.roundTrips()
	w.clock.Add(time.Second)
	require.Equal(t, authorizer.ReasonReused, reason(fresh, old), "the entry ends with the grace period")
	require.Equal(t, reads+1, w.tokens.roundTrips(), "read again")
}

func TestTheOwnerReadWithOneTokenServesTheNext(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: 30 * time.Second})
	_, first := w.token(nil)
	_, second := w.token(nil)
	require.True(t, check(a, first).Allow)
	require.True(t, check(a, second).Allow)
	require.Equal(t, [3]int{1, 1, 0}, w.tokens.reads(), "the second token costs one GetItem")
}

func TestACachedOwnerIsNeverKeptLongerThanCacheTTL(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: 30 * time.Second})
	_, first := w.token(nil, access.TokensRead, access.TokensWrite)
	_, second := w.token(nil, access.TokensRead, access.TokensWrite)
	require.True(t, check(a, first).Allow) // reads alice at 0s
	w.clock.Add(20 * time.Second)
	require.True(t, check(a, second).Allow) // alice from the cache, read at 0s

	narrowed := *w.alice
	narrowed.Scopes, narrowed.Version = []string{access.TokensRead}, 2
	w.tokens.putOwner(&narrowed)
	w.clock.Add(10 * time.Second)
	d := check(a, second)
	require.True(t, d.Allow)
	require.Equal(t, []string{access.TokensRead}, d.Caller.Scopes, "30s after alice was read, not 30s after the second token was")
}

func TestAnOwnerCachedUnderAnotherIDIsReadAgain(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	_, s := w.token(nil)
	require.True(t, check(a, s).Allow) // alice cached under her reference
	bob := &access.Principal{ID: "bob", Scopes: []string{access.TokensRead}, Version: 1, Incarnation: "inc-bob"}
	_, odd := w.token(func(t *token.Token) { t.OwnerID, t.OwnerIncarnation = "bob", "inc-bob" }) // alice's reference, bob's token
	w.tokens.putOwner(bob)
	require.Equal(t, authorizer.ReasonOwnerGone, reason(a, odd))
	require.Equal(t, [3]int{1, 2, 0}, w.tokens.reads(), "the cached owner was not the token's: token and owner read again")
}

func TestAncestorsAreReadOnceForAFamily(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	parent, _ := w.token(nil)
	_, first := w.child(parent, token.TypeTemporary, nil)
	_, second := w.child(parent, token.TypeTemporary, nil)
	require.True(t, check(a, first).Allow)
	require.True(t, check(a, second).Allow)
	require.Equal(t, 1, w.tokens.reads()[2], "the parent is read once, in one BatchGetItem")
}

func TestAReEnabledParentRevivesItsChildrenWithinNegativeTTL(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, NegativeTTL: 5 * time.Second})
	parent, _ := w.token(func(t *token.Token) { t.Status = token.StatusDisabled })
	_, s := w.child(parent, token.TypeTemporary, nil)
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, s))
	w.tokens.change(parent.ID, func(t *token.Token) { t.Status = token.StatusActive })
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, s), "reused")
	w.clock.Add(5 * time.Second)
	require.True(t, check(a, s).Allow)
}

func TestAChildIsCachedNoLongerThanWhatItKnowsOfItsParent(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute})
	parent, _ := w.token(nil)
	_, first := w.child(parent, token.TypeTemporary, nil)
	require.True(t, check(a, first).Allow) // the parent cached until 60s
	w.clock.Add(30 * time.Second)
	_, second := w.child(parent, token.TypeTemporary, nil)
	require.True(t, check(a, second).Allow) // second cached until the parent's 60s, not 90s
	w.tokens.change(parent.ID, func(t *token.Token) { t.Status = token.StatusRevoked })
	w.clock.Add(30 * time.Second)
	require.Equal(t, authorizer.ReasonParentEnded, reason(a, second))
}

func TestTheCachesHoldCacheSizeEntries(t *testing.T) {
	w := newWorld()
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, CacheSize: 1})
	_, first := w.token(nil)
	_, second := w.token(nil)
	for range 2 {
		require.True(t, check(a, first).Allow)
		require.True(t, check(a, second).Allow)
	}
	require.Equal(t, 4, w.tokens.roundTrips(), "each evicts the other")
}

func TestCountsUsesWithoutWriting(t *testing.T) {
	w := newWorld()
	store := &memUsage{}
	usage := &authorizer.Usage{Store: store, Every: time.Minute}
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, Usage: usage})
	tok, s := w.token(nil)
	_, refused := w.token(func(t *token.Token) { t.Status = token.StatusRevoked })
	require.True(t, check(a, s).Allow)
	require.False(t, check(a, refused).Allow)
	require.Empty(t, store.written(), "a decision never writes")
	require.EqualValues(t, 1, usage.Pending(), "a refusal is no use")
	ctx := context.Background()
	usage.FlushDue(ctx, w.clock.Now())
	require.Equal(t, []use{{tok.ID, 1, w.clock.Now(), "203.0.113.9"}}, store.written(), "a first use is due at once")
	require.Zero(t, usage.Pending())
}

func TestUsageWritesCountsWhenDue(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	used := &token.Token{ID: "used", LastUsedAt: t0.Add(-time.Hour)}
	fresh := &token.Token{ID: "fresh"}

	t.Run("a token used before is written once Every passed", func(t *testing.T) {
		store := &memUsage{}
		u := &authorizer.Usage{Store: store, Every: time.Minute}
		u.Record(used, t0, "192.0.2.1")
		u.Record(used, t0.Add(time.Second), "192.0.2.2")
		u.FlushDue(ctx, t0.Add(30*time.Second))
		require.Empty(t, store.written())
		require.EqualValues(t, 2, u.Pending())
		u.FlushDue(ctx, t0.Add(time.Minute))
		require.Equal(t, []use{{"used", 2, t0.Add(time.Second), "192.0.2.2"}}, store.written(), "the count, the last time and address")
	})
	t.Run("a token never used is written at once, then like the others", func(t *testing.T) {
		store := &memUsage{}
		u := &authorizer.Usage{Store: store, Every: time.Minute}
		u.Record(fresh, t0, "192.0.2.1")
		u.FlushDue(ctx, t0)
		u.Record(fresh, t0.Add(time.Second), "192.0.2.1")
		u.FlushDue(ctx, t0.Add(time.Second))
		require.Len(t, store.written(), 1)
	})
	t.Run("a write that fails is kept for the next flush", func(t *testing.T) {
		store := &memUsage{err: errDown}
		u := &authorizer.Usage{Store: store, Every: time.Minute}
		u.Record(fresh, t0, "")
		u.FlushDue(ctx, t0)
		require.EqualValues(t, 1, u.Pending())
		store.failWith(nil)
		u.Record(fresh, t0.Add(time.Second), "")
		u.Flush(ctx)
		require.Equal(t, []use{{"fresh", 2, t0.Add(time.Second), ""}}, store.written(), "Flush writes whatever is pending")
	})
	t.Run("an idle token is forgotten", func(t *testing.T) {
		store := &memUsage{}
		u := &authorizer.Usage{Store: store, Every: time.Minute}
		u.Record(used, t0, "")
		u.FlushDue(ctx, t0.Add(time.Minute))
		u.FlushDue(ctx, t0.Add(2*time.Minute)) // idle for Every: dropped
		u.Record(used, t0.Add(2*time.Minute), "")
		u.FlushDue(ctx, t0.Add(2*time.Minute+time.Second))
		require.Len(t, store.written(), 1, "counting starts again from its new first record")
	})
	t.Run("Run flushes on every tick and everything when it ends", func(t *testing.T) {
		store := &memUsage{}
		u := &authorizer.Usage{Store: store, Every: time.Hour}
		u.Record(fresh, t0, "")
		u.Record(used, t0, "")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { u.Run(ctx, time.Millisecond, func() time.Time { return t0 }); close(done) }()
		require.Eventually(t, func() bool { return len(store.written()) == 1 }, time.Second, time.Millisecond, "the first use, on a tick")
		cancel()
		<-done
		require.Len(t, store.written(), 2, "the rest on shutdown")
	})
}
