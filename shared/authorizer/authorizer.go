// Package authorizer validates tokengate tokens for API Gateway: the checks of SPEC
// "Authorizer" in order, written once, with adapters for each event format. It fails
// closed: when the table or KMS cannot answer, nothing is allowed. It tells the caller
// nothing about why it denied; the reason goes to one log line, never the token.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/token"
)

// Tokens reads tokens (shared/store implements it).
type Tokens interface {
	Get(ctx context.Context, id token.ID) (*token.Token, error)
	// GetWithOwner reads the token and its owner in one round trip; the owner is nil
	// when the principal no longer exists.
	GetWithOwner(ctx context.Context, id token.ID) (*token.Token, *access.Principal, error)
}

// Reason says why a request was denied, for the log only.
type Reason string

const (
	ReasonOK          Reason = "ok"
	ReasonMissing     Reason = "missing_token"
	ReasonMalformed   Reason = "malformed"
	ReasonUnknown     Reason = "unknown_token"
	ReasonBadSecret   Reason = "bad_secret"
	ReasonInactive    Reason = "inactive"
	ReasonExpired     Reason = "expired"
	ReasonOwnerGone   Reason = "owner_gone"
	ReasonOwnerScopes Reason = "owner_lacks_scopes"
	ReasonIP          Reason = "ip_not_allowed"
	ReasonTime        Reason = "outside_time_window"
	ReasonRateLimited Reason = "rate_limited"
	ReasonRouteScope  Reason = "route_scope"
	ReasonStoreFailed Reason = "store_error"
)

// Rejected reports whether the reason means the token itself is not valid (the REST
// authorizer answers 401), as opposed to a valid token refused this request (403).
func (r Reason) Rejected() bool {
	switch r {
	case ReasonIP, ReasonTime, ReasonRateLimited, ReasonRouteScope:
		return false
	}
	return true
}

// RateCounter counts requests per token per window across every instance
// (shared/store implements it on the table).
type RateCounter interface {
	TakeRate(ctx context.Context, id token.ID, window time.Time, per time.Duration, limit int) (bool, error)
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
	Now     func() time.Time
	// RouteScopes maps "METHOD /path" to the scopes a token needs for it.
	RouteScopes map[string][]string
	// CacheTTL bounds how long a token read from the table is reused; 0 disables.
	CacheTTL time.Duration
	// Usage records uses; nil records nothing.
	Usage *Usage
	// Rates counts requests of rate-limited tokens. Without it a rate-limited token is
	// refused: the authorizer fails closed.
	Rates RateCounter
	// NegativeTTL bounds how long an unknown token id is remembered, so a flood of the
	// same made-up token costs one read; 0 means DefaultNegativeTTL.
	NegativeTTL time.Duration
}

// DefaultNegativeTTL is how long an unknown id is remembered. It is short: a token
// created meanwhile works after at most this long.
const DefaultNegativeTTL = 5 * time.Second

// Authorizer decides requests. It is safe for concurrent use.
type Authorizer struct {
	cfg    Config
	mu     sync.Mutex
	cache  map[token.ID]cached
	owners map[string]cachedOwner // by owner reference
}

// cached is a token read from the table with its owner, or nil for an id the table
// does not have.
type cached struct {
	t       *token.Token
	owner   *access.Principal
	scopes  []string    // the token's scopes that the owner holds, worked out once per read
	risk    access.Risk // of scopes
	expires time.Time
}

// cachedOwner is a principal read with one of its tokens; the next token of the same
// owner then costs a single GetItem.
type cachedOwner struct {
	p       *access.Principal
	expires time.Time
}

// maxCached bounds the cache; past it the cache is emptied, which costs only reads.
const maxCached = 10000

// New returns an Authorizer.
func New(cfg Config) *Authorizer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.Catalog == nil {
		cfg.Catalog, _ = access.NewCatalog() // the built-in scopes only
	}
	return &Authorizer{cfg: cfg, cache: map[token.ID]cached{}, owners: map[string]cachedOwner{}}
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

// Check runs every check in order and logs one line with the outcome.
func (a *Authorizer) Check(ctx context.Context, req Request) Decision {
	start := time.Now()
	d := a.check(ctx, req)
	level := slog.LevelInfo
	if d.Reason == ReasonStoreFailed {
		level = slog.LevelError
	}
	slog.Log(ctx, level, "authorizer decision",
		"tokenId", string(d.TokenID), "allow", d.Allow, "reason", string(d.Reason),
		"route", req.Route, "sourceIp", req.SourceIP, "latencyUs", time.Since(start).Microseconds())
	return d
}

func (a *Authorizer) check(ctx context.Context, req Request) Decision {
	if req.Token == "" {
		return Decision{Reason: ReasonMissing}
	}
	id, secret, err := token.Parse(a.cfg.Prefix, req.Token)
	if err != nil {
		return Decision{Reason: ReasonMalformed}
	}
	now := a.cfg.Now()
	entry, err := a.lookup(ctx, id, now)
	switch {
	case errors.Is(err, token.ErrNotFound):
		return Decision{Reason: ReasonUnknown, TokenID: id}
	case err != nil:
		slog.ErrorContext(ctx, "authorizer lookup failed", "tokenId", string(id), "err", err)
		return Decision{Reason: ReasonStoreFailed, TokenID: id}
	}
	t, owner := entry.t, entry.owner
	if !t.Verify(a.cfg.Keys, secret, now) {
		return Decision{Reason: ReasonBadSecret, TokenID: id}
	}
	switch t.EffectiveStatus(now) {
	case token.StatusActive:
	case token.StatusExpired:
		return Decision{Reason: ReasonExpired, TokenID: id}
	default:
		return Decision{Reason: ReasonInactive, TokenID: id}
	}
	// A token never grants more than its owner holds now. A principal deleted and
	// created again under the same id is someone new: the old one's tokens stay dead.
	if owner == nil || t.CreatedAt.Before(owner.CreatedAt) {
		return Decision{Reason: ReasonOwnerGone, TokenID: id}
	}
	scopes := entry.scopes
	if len(scopes) == 0 {
		return Decision{Reason: ReasonOwnerScopes, TokenID: id}
	}
	if !t.EmergencyActive(now) {
		if !t.Restrictions.AllowsIP(req.SourceIP) {
			return Decision{Reason: ReasonIP, TokenID: id}
		}
		if w := t.Restrictions.TimeRestriction; w != nil && !w.Allows(now) {
			return Decision{Reason: ReasonTime, TokenID: id}
		}
	}
	if rl := t.Restrictions.RateLimit; rl != nil {
		if a.cfg.Rates == nil {
			return Decision{Reason: ReasonStoreFailed, TokenID: id}
		}
		per := rl.Window()
		ok, err := a.cfg.Rates.TakeRate(ctx, id, now.UTC().Truncate(per), per, rl.Limit)
		if err != nil {
			slog.ErrorContext(ctx, "authorizer rate count failed", "tokenId", string(id), "err", err)
			return Decision{Reason: ReasonStoreFailed, TokenID: id}
		}
		if !ok {
			return Decision{Reason: ReasonRateLimited, TokenID: id}
		}
	}
	if need := routeScopes(a.cfg.RouteScopes, req.Route); len(access.Missing(need, scopes)) > 0 {
		return Decision{Reason: ReasonRouteScope, TokenID: id}
	}
	if a.cfg.Usage != nil {
		a.cfg.Usage.Record(ctx, t, now, req.SourceIP)
	}
	c := access.Caller{TokenID: string(t.ID), OwnerID: t.OwnerID, MinterID: t.Minter(), Scopes: scopes, Risk: entry.risk}
	return Decision{Allow: true, Caller: c, Reason: ReasonOK, TokenID: id}
}

// lookup reads a token and its owner through the caches: tokens for CacheTTL, unknown
// ids for the shorter NegativeTTL, owners for CacheTTL (a CacheTTL of 0 turns all off).
// A miss costs one round trip: a GetItem when the owner is cached, else a BatchGetItem
// of token and owner. Errors are never cached.
func (a *Authorizer) lookup(ctx context.Context, id token.ID, now time.Time) (cached, error) {
	a.mu.Lock()
	c, ok := a.cache[id]
	o, ownerOK := a.owners[id.OwnerRef()]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		if c.t == nil {
			return cached{}, token.ErrNotFound
		}
		return c, nil
	}
	var (
		t     *token.Token
		owner *access.Principal
		err   error
	)
	if ownerOK && now.Before(o.expires) {
		t, err = a.cfg.Tokens.Get(ctx, id)
		owner = o.p
		if err == nil && t.OwnerID != owner.ID {
			t, owner, err = a.cfg.Tokens.GetWithOwner(ctx, id)
		}
	} else {
		t, owner, err = a.cfg.Tokens.GetWithOwner(ctx, id)
	}
	ttl := a.cfg.CacheTTL
	switch {
	case errors.Is(err, token.ErrNotFound):
		ttl = min(a.cfg.NegativeTTL, a.cfg.CacheTTL)
	case err != nil:
		return cached{}, err
	}
	entry := cached{t: t, owner: owner}
	if t != nil && owner != nil {
		entry.scopes = access.Intersect(t.Scopes, a.cfg.Catalog.Holds(owner))
		entry.risk = a.cfg.Catalog.RiskOf(entry.scopes)
	}
	if ttl > 0 {
		a.mu.Lock()
		if len(a.cache) >= maxCached {
			a.cache = map[token.ID]cached{}
		}
		if len(a.owners) >= maxCached {
			a.owners = map[string]cachedOwner{}
		}
		expires := now.Add(ttl)
		if ownerOK && now.Before(o.expires) && o.expires.Before(expires) {
			expires = o.expires // never keep an owner longer than CacheTTL after it was read
		}
		entry.expires = expires
		a.cache[id] = entry
		if owner != nil && !(ownerOK && now.Before(o.expires)) {
			a.owners[id.OwnerRef()] = cachedOwner{p: owner, expires: now.Add(a.cfg.CacheTTL)}
		}
		a.mu.Unlock()
	}
	return entry, err
}
