// Package authorizer validates tokengate tokens for API Gateway: the checks of SPEC
// "Authorizer" in order, written once, with adapters for each event format. It fails
// closed: when the table or KMS cannot answer, nothing is allowed. It tells the caller
// nothing about why it denied; the reason goes to one log line, never the token.
package authorizer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// Tokens reads tokens (shared/store implements it).
type Tokens interface {
	Get(ctx context.Context, id token.ID) (*token.Token, error)
	// GetWithOwner reads the token and its owner in one round trip; the owner is nil
	// when the principal no longer exists.
	GetWithOwner(ctx context.Context, id token.ID) (*token.Token, *access.Principal, error)
	// GetMany reads tokens by id in one round trip (a token's ancestors); ids with no
	// token are absent.
	GetMany(ctx context.Context, ids []token.ID) (map[token.ID]*token.Token, error)
}

// Reason says why a request was denied, for the log only.
type Reason string

const (
	ReasonOK          Reason = "ok"
	ReasonMissing     Reason = "missing_token"
	ReasonMalformed   Reason = "malformed"
	ReasonForged      Reason = "forged" // well-formed, but the tag does not verify
	ReasonUnknown     Reason = "unknown_token"
	ReasonBadSecret   Reason = "bad_secret"
	ReasonReused      Reason = "reuse_detected" // a secret rotated away, presented after its grace period
	ReasonInactive    Reason = "inactive"
	ReasonExpired     Reason = "expired"
	ReasonOwnerGone   Reason = "owner_gone"
	ReasonParentEnded Reason = "parent_inactive" // a temporary token whose parent (or an ancestor it lives with) is no longer active
	ReasonOwnerScopes Reason = "owner_lacks_scopes"
	ReasonIP          Reason = "ip_not_allowed"
	ReasonTime        Reason = "outside_time_window"
	ReasonRateLimited Reason = "rate_limited"
	ReasonRouteScope  Reason = "route_scope"
	ReasonUnlisted    Reason = "route_unlisted" // ROUTE_SCOPES has keys and none matches
	ReasonBadData     Reason = "bad_restriction"
	ReasonStoreFailed Reason = "store_error"
)

// Rejected reports whether the reason means the token itself is not valid (the REST
// authorizer answers 401), as opposed to a valid token refused this request (403).
func (r Reason) Rejected() bool {
	switch r {
	case ReasonIP, ReasonTime, ReasonRateLimited, ReasonRouteScope, ReasonUnlisted:
		return false
	}
	return true
}

// Request is what a decision is made on, whatever the event format.
type Request struct {
	Token    string // the presented token string, never logged
	SourceIP string
	Route    string // "METHOD /path" as declared, for ROUTE_SCOPES
}

// Decision is the verdict. Caller is set only when Allow is true.
type Decision struct {
	Allow   bool
	Caller  access.Caller
	Reason  Reason
	TokenID token.ID
}

// Config is what an Authorizer is made of.
type Config struct {
	Tokens  Tokens
	Keys    *token.Keyring
	Catalog *access.Catalog
	Prefix  string
	// Now is the clock; nil means the real one (time.Now), read once per decision.
	Now func() time.Time
	// Routes is ROUTE_SCOPES parsed (NewRouteTable); when nil, RouteScopes is parsed by
	// New, and an ambiguous one makes the authorizer refuse everything.
	Routes *RouteTable
	// RouteScopes maps "METHOD /path" to the scopes a token needs for it.
	RouteScopes map[string][]string
	// CacheTTL bounds how long a token read from the table is reused; 0 disables.
	CacheTTL time.Duration
	// CacheSize bounds each cache (tokens, owners, unknown ids); 0 means DefaultCacheSize.
	CacheSize int
	// Usage records uses; nil records nothing.
	Usage *Usage
	// Rates counts requests of rate-limited tokens. Without it a rate-limited token is
	// refused: the authorizer fails closed.
	Rates restriction.RateCounter
	// NegativeTTL bounds how long a read that refuses is reused: an unknown id, a wrong
	// secret, a token disabled, revoked or expired; 0 means DefaultNegativeTTL.
	NegativeTTL time.Duration
	// Log receives each decision's JSON line, in one Write, formatted by hand with the
	// fields of slog's JSON handler at a fraction of its cost; nil: slog.Default().
	Log io.Writer
	// Feed is the change feed (feed.go): read at most once per FeedInterval while the
	// instance serves requests, it drops what changed from the caches. Nil: cached
	// decisions last CacheTTL.
	Feed Feed
	// FeedInterval and FeedOverlap time the feed reads; 0: DefaultFeedInterval and
	// DefaultFeedOverlap. FeedClock is the feed's clock, whose stamps come from the
	// writers' clocks; nil: time.Now.
	FeedInterval, FeedOverlap time.Duration
	FeedClock                 func() time.Time
	// Leases, when set, counts rate limits in leased slices of each window's budget
	// (lease.go) instead of one write per request through Rates.
	Leases RateLeaser
	// Reuse records a detected reuse of a rotated-away secret (reuse.go); nil: reuses
	// are refused and logged, not recorded.
	Reuse ReuseRecorder
}

// DefaultNegativeTTL is how long a refusing read is reused. It is short: a token
// enabled meanwhile works again after at most this long.
const DefaultNegativeTTL = 5 * time.Second

// DefaultCacheSize bounds each cache; the least recently used entry goes first.
const DefaultCacheSize = 10000

// Authorizer decides requests. It is safe for concurrent use.
type Authorizer struct {
	cfg       Config
	routes    *RouteTable
	routesErr error
	log       *decisionLog                             // nil: decisions go through slog
	tokens    *expirable.LRU[presentedKey, *cached]    // by id and the presented secret's keyed hash
	unknown   *expirable.LRU[token.ID, time.Time]      // ids the table does not have, until when
	owners    *expirable.LRU[string, cachedOwner]      // by owner reference
	ancestors *expirable.LRU[token.ID, cachedAncestor] // tokens others descend from, as read
	reuses    *reuseMemo                               // tokens whose reuse this instance recorded lately

	feed          *feedState   // nil: no feed
	leases        *leases      // nil: Rates counts every request
	realClock     bool         // cfg.Now is time.Now: a decision reuses the time it started
	garbageLogged atomic.Int64 // when a malformed or forged refusal was last logged, Unix ns
	garbageLeft   atomic.Int64 // how many were not logged since
}

// presentedKey is a cache key: the token id and the HMAC of id and secret (the tag's),
// copied so that no cache entry holds on to the presented string and its secret.
type presentedKey struct {
	id  [32]byte // token.ID, zero-padded
	mac [32]byte
}

func keyOf(p token.Presented) presentedKey {
	k := presentedKey{mac: p.Key}
	copy(k.id[:], p.ID)
	return k
}

// cached is what one read decided for one presented (id, secret): the token with its
// owner, and whether the secret verified.
type cached struct {
	t        *token.Token
	owner    *access.Principal
	secretOK bool
	reused   bool           // the secret is one rotated away (token.Token.Reused)
	alive    bool           // every token it lives with (EndsWith) is active
	lineage  []*token.Token // its ancestors as read (Ancestors; nil where gone)
	scopes   []string       // the token's scopes that the owner holds, worked out once per read
	risk     access.Risk    // of scopes
	expires  time.Time
}

// cachedAncestor is a token that others descend from, as read (nil: no longer in the
// table), until when it is reused: its restrictions bind its descendants, and its life
// the temporary ones.
type cachedAncestor struct {
	t       *token.Token
	expires time.Time
}

// cachedOwner is a principal read with one of its tokens; the next token of the same
// owner then costs a single GetItem.
type cachedOwner struct {
	p       *access.Principal
	expires time.Time
}

// New returns an Authorizer.
func New(cfg Config) *Authorizer {
	realClock := cfg.Now == nil
	if realClock {
		cfg.Now = time.Now
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Catalog == nil {
		cfg.Catalog, _ = access.NewCatalog() // the built-in scopes only
	}
	a := &Authorizer{cfg: cfg, routes: cfg.Routes, realClock: realClock}
	if cfg.Log != nil {
		a.log = &decisionLog{w: cfg.Log}
	}
	if a.routes == nil && len(cfg.RouteScopes) > 0 {
		a.routes, a.routesErr = NewRouteTable(cfg.RouteScopes)
	}
	if cfg.CacheTTL > 0 {
		// The LRUs' own expiry only frees memory; every entry carries its expiry on the
		// authorizer's clock, which is what is checked.
		a.tokens = expirable.NewLRU[presentedKey, *cached](cfg.CacheSize, nil, cfg.CacheTTL)
		a.unknown = expirable.NewLRU[token.ID, time.Time](cfg.CacheSize, nil, min(cfg.NegativeTTL, cfg.CacheTTL))
		a.owners = expirable.NewLRU[string, cachedOwner](cfg.CacheSize, nil, cfg.CacheTTL)
		a.ancestors = expirable.NewLRU[token.ID, cachedAncestor](cfg.CacheSize, nil, cfg.CacheTTL)
		if cfg.Feed != nil {
			a.feed = newFeedState(cfg, realClock)
		}
	}
	if cfg.Leases != nil {
		a.leases = &leases{store: cfg.Leases, max: cfg.CacheSize}
	}
	a.reuses = newReuseMemo(cfg.CacheSize)
	return a
}

// BearerToken extracts the token from an Authorization header ("Bearer x", any case of
// the scheme) or, failing that, an X-API-Key header.
func BearerToken(authorization, apiKey string) string {
	if a := strings.TrimSpace(authorization); a != "" {
		if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			return strings.TrimSpace(a[7:])
		}
		return ""
	}
	return strings.TrimSpace(apiKey)
}

// Check runs every check in order and logs one line with the outcome. Refusals of
// malformed and forged strings, which cost nothing else, are logged at most once a second
// per instance, with the count of those left out: a flood of garbage cannot flood the log.
func (a *Authorizer) Check(ctx context.Context, req Request) Decision {
	start := time.Now()
	d := a.check(ctx, req, start)
	var left int64
	if d.Reason == ReasonMalformed || d.Reason == ReasonForged {
		last, now := a.garbageLogged.Load(), start.UnixNano()
		if now-last < int64(time.Second) || !a.garbageLogged.CompareAndSwap(last, now) {
			a.garbageLeft.Add(1)
			return d
		}
		left = a.garbageLeft.Swap(0)
	}
	level := slog.LevelInfo
	if d.Reason == ReasonStoreFailed {
		level = slog.LevelError
	}
	if a.log != nil {
		end := time.Now()
		a.log.write(decisionLine{at: end, level: level.String(), tokenID: string(d.TokenID), allow: d.Allow, reason: string(d.Reason), route: req.Route, sourceIP: req.SourceIP,
			latencyUs: end.Sub(start).Microseconds(), garbage: left})
		return d
	}
	// Straight to the handler: a record without a source position skips a stack walk.
	h := slog.Default().Handler()
	if !h.Enabled(ctx, level) {
		return d
	}
	end := time.Now()
	r := slog.NewRecord(end, level, "authorizer decision", 0)
	r.AddAttrs(
		slog.String("tokenId", string(d.TokenID)), slog.Bool("allow", d.Allow), slog.String("reason", string(d.Reason)),
		slog.String("route", req.Route), slog.String("sourceIp", req.SourceIP), slog.Int64("latencyUs", end.Sub(start).Microseconds()),
	)
	if left > 0 {
		r.AddAttrs(slog.Int64("garbageNotLogged", left))
	}
	_ = h.Handle(ctx, r)
	return d
}

// check reads, decides, answers: the string (parse, tag), the token and its owner and
// ancestors (lookup, through the caches), the verdict on them (decide), then the rate
// counters and the use.
func (a *Authorizer) check(ctx context.Context, req Request, start time.Time) Decision {
	if req.Token == "" {
		return Decision{Reason: ReasonMissing}
	}
	if a.routesErr != nil {
		return Decision{Reason: ReasonStoreFailed}
	}
	p, err := a.cfg.Keys.Parse(a.cfg.Prefix, req.Token)
	switch {
	case errors.Is(err, token.ErrForged):
		return Decision{Reason: ReasonForged}
	case err != nil:
		return Decision{Reason: ReasonMalformed}
	}
	id := p.ID
	now := start
	if !a.realClock {
		now = a.cfg.Now()
	}
	entry, err := a.lookup(ctx, p, now)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return Decision{Reason: ReasonUnknown, TokenID: id}
	case err != nil:
		slog.ErrorContext(ctx, "authorizer lookup failed", "tokenId", string(id), "err", err)
		return Decision{Reason: ReasonStoreFailed, TokenID: id}
	}
	d := decide(entry, id, req, a.routes, now)
	if !d.Allow {
		if d.Reason == ReasonReused {
			a.recordReuse(ctx, entry.t, req.SourceIP, now)
		}
		return d
	}
	t := entry.t
	// Its own rate limit, under its own id, and every ancestor's, under the ancestor's
	// id: one counter per family, so children never multiply a rate.
	for _, b := range rateCounters(t, entry.lineage) {
		if d, ok := a.takeRate(ctx, id, b.Key, b.Limit, now); !ok {
			return d
		}
	}
	if a.cfg.Usage != nil {
		a.cfg.Usage.Record(t, now, req.SourceIP)
	}
	return d
}

// decide is the verdict on what lookup read for the token id, at now: every check after
// the string's and before the rate counters', in SPEC order (secret, status, stored data,
// lineage's life, owner, the owner's scopes, restrictions unless emergency access is on,
// route scopes). It reads and writes nothing. An Allow carries the caller, and still has
// to take the counters rateCounters names.
func decide(entry *cached, id token.ID, req Request, routes *RouteTable, now time.Time) Decision {
	t, owner := entry.t, entry.owner
	if !entry.secretOK {
		if entry.reused {
			return Decision{Reason: ReasonReused, TokenID: id}
		}
		return Decision{Reason: ReasonBadSecret, TokenID: id}
	}
	switch t.EffectiveStatus(now) {
	case token.StatusActive:
	case token.StatusExpired:
		return Decision{Reason: ReasonExpired, TokenID: id}
	default:
		return Decision{Reason: ReasonInactive, TokenID: id}
	}
	if len(t.Unreadable) > 0 {
		return Decision{Reason: ReasonBadData, TokenID: id}
	}
	if !entry.alive {
		return Decision{Reason: ReasonParentEnded, TokenID: id}
	}
	// A token never grants more than its owner holds now. A principal deleted and
	// created again under the same id is someone new (a new incarnation): the old one's
	// tokens stay dead.
	if owner == nil || t.OwnerIncarnation != owner.Incarnation ||
		(owner.Incarnation == "" && t.CreatedAt.Before(owner.CreatedAt)) {
		return Decision{Reason: ReasonOwnerGone, TokenID: id}
	}
	scopes := entry.scopes
	if len(scopes) == 0 {
		return Decision{Reason: ReasonOwnerScopes, TokenID: id}
	}
	if !t.EmergencyActive(now) {
		// The token's own restrictions, those its lineage imposed when it was minted
		// (Bounds), and its ancestors' as they are now.
		if !t.Restrictions.AllowsIP(req.SourceIP) || !t.Bounds.AllowsIP(req.SourceIP) {
			return Decision{Reason: ReasonIP, TokenID: id}
		}
		if w := t.Restrictions.TimeRestriction; w != nil && !w.Allows(now) || !t.Bounds.AllowsTime(now) {
			return Decision{Reason: ReasonTime, TokenID: id}
		}
		for _, anc := range entry.lineage {
			if anc == nil {
				continue // gone from the table: its restrictions as Bounds copied them
			}
			if !anc.Restrictions.AllowsIP(req.SourceIP) {
				return Decision{Reason: ReasonIP, TokenID: id}
			}
			if w := anc.Restrictions.TimeRestriction; w != nil && !w.Allows(now) {
				return Decision{Reason: ReasonTime, TokenID: id}
			}
		}
	}
	var need []string
	if routes.Len() > 0 {
		var listed bool
		if need, listed = routes.Scopes(req.Route); !listed {
			return Decision{Reason: ReasonUnlisted, TokenID: id}
		}
	}
	if len(access.Missing(need, scopes)) > 0 {
		return Decision{Reason: ReasonRouteScope, TokenID: id}
	}
	// The owner's version and incarnation go with the scopes they were narrowed by: a
	// create for the caller itself then checks them in its write instead of a read.
	c := access.Caller{TokenID: string(t.ID), OwnerID: t.OwnerID, MinterID: t.Minter(), Scopes: scopes, Risk: entry.risk,
		OwnerVersion: owner.Version, OwnerIncarnation: owner.Incarnation, TokenVersion: t.Version}
	return Decision{Allow: true, Caller: c, Reason: ReasonOK, TokenID: id}
}

// takeRate counts one request of token id against the counter of key, limited by rl; it
// fails closed when the counter cannot be reached.
func (a *Authorizer) takeRate(ctx context.Context, id token.ID, key restriction.Key, rl restriction.RateLimit, now time.Time) (Decision, bool) {
	var (
		ok  bool
		err error
	)
	switch per := rl.Window(); {
	case a.leases != nil:
		ok, err = a.leases.take(ctx, key, rl, now)
	case a.cfg.Rates == nil:
		return Decision{Reason: ReasonStoreFailed, TokenID: id}, false
	default:
		ok, err = a.cfg.Rates.TakeRate(ctx, key, now.UTC().Truncate(per), per, rl.Limit)
	}
	if err != nil {
		slog.ErrorContext(ctx, "authorizer rate count failed", "tokenId", string(id), "err", err)
		return Decision{Reason: ReasonStoreFailed, TokenID: id}, false
	}
	if !ok {
		return Decision{Reason: ReasonRateLimited, TokenID: id}, false
	}
	return Decision{}, true
}

// rateCounters are the counters a request of t takes from: its own limit under its own
// id, the ancestors' limits copied at minting (Bounds) and as they are now (lineage), once
// per counter (key and window), with the lowest limit.
func rateCounters(t *token.Token, lineage []*token.Token) []restriction.RateBound {
	var out []restriction.RateBound
	add := func(key restriction.Key, rl *restriction.RateLimit) {
		if rl == nil {
			return
		}
		for i, b := range out {
			if b.Key == key && b.Limit.Per == rl.Per {
				out[i].Limit.Limit = min(b.Limit.Limit, rl.Limit)
				return
			}
		}
		out = append(out, restriction.RateBound{Key: key, Limit: *rl})
	}
	add(restriction.TokenKey(string(t.ID)), t.Restrictions.RateLimit)
	for _, b := range t.Bounds.Rates {
		add(b.Key, &b.Limit)
	}
	for _, anc := range lineage {
		if anc != nil {
			add(restriction.TokenKey(string(anc.ID)), anc.Restrictions.RateLimit)
		}
	}
	return out
}

// lineage reads t's ancestors (Ancestors, and EndsWith for tokens stored before it)
// through the ancestors cache, the missing ones in one BatchGetItem; it reports whether
// every token t lives with is active, and until when what it read may be reused (zero:
// as long as t's own entry). An ancestor is kept CacheTTL while active, NegativeTTL else
// (so a re-enabled parent revives its temporary children as fast as a token).
func (a *Authorizer) lineage(ctx context.Context, t *token.Token, now time.Time) ([]*token.Token, bool, time.Time, error) {
	ids := t.Ancestors
	for _, e := range t.EndsWith {
		if !slices.Contains(ids, e) {
			ids = append(slices.Clone(ids), e)
		}
	}
	got := make(map[token.ID]*token.Token, len(ids))
	var until time.Time
	clamp := func(at time.Time) {
		if until.IsZero() || at.Before(until) {
			until = at
		}
	}
	var missing []token.ID
	for _, anc := range ids {
		if a.ancestors != nil {
			if c, ok := a.ancestors.Get(anc); ok && now.Before(c.expires) {
				got[anc] = c.t
				clamp(c.expires)
				continue
			}
		}
		missing = append(missing, anc)
	}
	if len(missing) > 0 {
		read, err := a.cfg.Tokens.GetMany(ctx, missing)
		if err != nil {
			return nil, false, time.Time{}, err
		}
		for _, anc := range missing {
			p := read[anc] // nil: gone
			got[anc] = p
			ttl := ancestorTTL(p, now, a.cfg.CacheTTL, a.cfg.NegativeTTL)
			if a.ancestors != nil && ttl > 0 {
				a.ancestors.Add(anc, cachedAncestor{t: p, expires: now.Add(ttl)})
				clamp(now.Add(ttl))
			}
		}
	}
	lineage := make([]*token.Token, 0, len(ids))
	for _, anc := range ids {
		lineage = append(lineage, got[anc])
	}
	return lineage, livesOn(t, got, now), until, nil
}

// livesOn reports whether t may live on, given its ancestors as read (nil: gone from the
// table): every token it ends with (EndsWith) is still active, and no ancestor's stored
// restrictions fail to parse (such an ancestor restricts everything).
func livesOn(t *token.Token, read map[token.ID]*token.Token, now time.Time) bool {
	for _, e := range t.EndsWith {
		p := read[e]
		if p == nil || p.EffectiveStatus(now) != token.StatusActive || len(p.Unreadable) > 0 {
			return false
		}
	}
	for _, p := range read {
		if p != nil && len(p.Unreadable) > 0 {
			return false
		}
	}
	return true
}

// ancestorTTL is how long an ancestor as read may be reused: CacheTTL while it is active,
// at most NegativeTTL when it is gone, no longer active or unreadable, so a re-enabled
// parent revives its temporary children as fast as a token.
func ancestorTTL(p *token.Token, now time.Time, cacheTTL, negativeTTL time.Duration) time.Duration {
	if p == nil || p.EffectiveStatus(now) != token.StatusActive || len(p.Unreadable) > 0 {
		return min(cacheTTL, negativeTTL)
	}
	return cacheTTL
}

// entryTTL is how long what one read decided may be reused: CacheTTL when it allows, at
// most NegativeTTL when it refuses (wrong secret, not active, unreadable, a lineage that
// ended it), and not at all for a pending token, so an approval works at once.
func entryTTL(e *cached, now time.Time, cacheTTL, negativeTTL time.Duration) time.Duration {
	switch st := e.t.EffectiveStatus(now); {
	case st == token.StatusPending:
		return 0
	case !e.secretOK || st != token.StatusActive || len(e.t.Unreadable) > 0 || !e.alive:
		return min(cacheTTL, negativeTTL)
	}
	return cacheTTL
}

// lookup reads a token and its owner through the caches and verifies the presented
// secret. Entries are keyed by what was presented (the id and the keyed hash of the
// secret), so a new secret for a cached id is a miss and is read at once. What a read
// decides is kept CacheTTL when the token was active and the secret matched, at most
// NegativeTTL when it refuses (wrong secret, disabled, revoked, expired), and not at all
// for a pending token (approval then works at once); the previous secret of a rotation
// no longer than its grace period. Unknown ids are kept NegativeTTL, owners CacheTTL.
// A miss costs one round trip: a GetItem when the owner is cached, else a BatchGetItem
// of token and owner. Errors are never cached.
func (a *Authorizer) lookup(ctx context.Context, p token.Presented, now time.Time) (*cached, error) {
	id := p.ID
	var key presentedKey
	if a.tokens != nil {
		if a.feed != nil {
			a.syncFeed(ctx, now)
		}
		key = keyOf(p)
		if c, ok := a.tokens.Get(key); ok && now.Before(c.expires) {
			return c, nil
		}
		if until, ok := a.unknown.Get(id); ok && now.Before(until) {
			return nil, fault.ErrNotFound
		}
	}
	var (
		t       *token.Token
		owner   *access.Principal
		err     error
		o       cachedOwner
		ownerOK bool
	)
	if a.owners != nil {
		o, ownerOK = a.owners.Get(id.OwnerRef())
		ownerOK = ownerOK && now.Before(o.expires)
	}
	if ownerOK {
		t, err = a.cfg.Tokens.Get(ctx, id)
		owner = o.p
		if err == nil && t.OwnerID != owner.ID {
			t, owner, err = a.cfg.Tokens.GetWithOwner(ctx, id)
			ownerOK = false
		}
	} else {
		t, owner, err = a.cfg.Tokens.GetWithOwner(ctx, id)
	}
	switch {
	case errors.Is(err, fault.ErrNotFound):
		if a.unknown != nil {
			// Cloned: the id is a substring of the presented string, secret included.
			a.unknown.Add(token.ID(strings.Clone(string(id))), now.Add(min(a.cfg.NegativeTTL, a.cfg.CacheTTL)))
		}
		return nil, err
	case err != nil:
		return nil, err
	}
	if len(t.Unreadable) > 0 {
		slog.ErrorContext(ctx, "token has stored data that does not parse: refused", "tokenId", string(id), "fields", t.Unreadable)
	}
	entry := &cached{t: t, owner: owner}
	var until time.Time
	entry.secretOK, until = t.VerifyUntil(a.cfg.Keys, p.Secret, now)
	entry.reused = !entry.secretOK && t.Reused(a.cfg.Keys, p.Secret, now)
	lifeUntil := time.Time{}
	entry.alive = true
	if (len(t.Ancestors) > 0 || len(t.EndsWith) > 0) && entry.secretOK {
		if entry.lineage, entry.alive, lifeUntil, err = a.lineage(ctx, t, now); err != nil {
			return nil, err
		}
	}
	if owner != nil {
		entry.scopes = access.Intersect(t.Scopes, a.cfg.Catalog.Holds(owner))
		entry.risk = a.cfg.Catalog.RiskOf(entry.scopes)
	}
	if a.tokens == nil {
		return entry, nil
	}
	ttl := entryTTL(entry, now, a.cfg.CacheTTL, a.cfg.NegativeTTL)
	expires := now.Add(ttl)
	if ownerOK && o.expires.Before(expires) {
		expires = o.expires // never keep an owner longer than CacheTTL after it was read
	}
	if !until.IsZero() && until.Before(expires) {
		expires = until // the previous secret, only as long as its grace period
	}
	if !lifeUntil.IsZero() && lifeUntil.Before(expires) {
		expires = lifeUntil // never longer than what it knows of its ancestors
	}
	if ttl > 0 {
		entry.expires = expires
		a.tokens.Add(key, entry)
	}
	if owner != nil && !ownerOK {
		a.owners.Add(strings.Clone(id.OwnerRef()), cachedOwner{p: owner, expires: now.Add(a.cfg.CacheTTL)})
	}
	return entry, nil
}
