package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

// Service runs the token operations: what the management API's functions need and
// nothing more. Every method takes the caller the authorizer established.
type Service struct {
	Store      Store
	Principals access.Principals
	Keys       *Keyring
	Catalog    *access.Catalog
	Policy     Policy
	Prefix     string
	Now        func() time.Time
	Rand       io.Reader // crypto/rand when nil
	// CallingTokens, when set, keeps calling tokens read for issuance (nil: read each).
	CallingTokens *CallingTokens
	// Settings, when set, overlays the lifetimes of temporary tokens and the detection
	// window a superuser set at run time (shared/settings) on Policy, the deployment's.
	Settings PolicySettings
}

// PolicySettings gives the policy in effect: the deployment's with the run-time
// settings over it (shared/settings.Source, read at most once a minute).
type PolicySettings interface {
	Policy(ctx context.Context, deployed Policy) (Policy, error)
}

// EffectivePolicy is the policy in effect now: Policy with the run-time settings over
// it. A failed read of the settings is an error, never the deployment's defaults (they
// may be looser than what was set).
func (s *Service) EffectivePolicy(ctx context.Context) (Policy, error) {
	if s.Settings == nil {
		return s.Policy, nil
	}
	return s.Settings.Policy(ctx, s.Policy)
}

// MaxGracePeriod bounds how long an old secret keeps working after a rotation.
const MaxGracePeriod = 24 * time.Hour

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Second) }

// CreateInput is what a caller sets on a new token.
type CreateInput struct {
	Name        string
	Description string
	Scopes      []string
	ExpiresIn   string
	ExpiresAt   *time.Time
	Type        Type
	OwnerID     string
	Reason      string
	Role        string // expands to the role's scopes, added to Scopes

	IPAllowlist     []string
	RateLimit       *restriction.RateLimit
	TimeRestriction *restriction.TimeWindow
	// OnReuse is what a reuse of a rotated-away secret does beside alerting: "alert"
	// (the default, also when empty) or "revoke".
	OnReuse string

	// Idempotency, when set, makes the create safe to send again: the same request with
	// the same key creates nothing more (audit.IdempotencyReplayError).
	Idempotency *audit.Idempotency
}

// Created is a new or rotated token with its one-time string.
type Created struct {
	Token     *Token
	Plaintext Plaintext
}

var ownerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$`)

// ValidOwnerID reports whether s may name a principal.
func ValidOwnerID(s string) bool { return ownerIDPattern.MatchString(s) }

// createPlan is a create request that passed every check needing no read: the caller's
// scopes, the fields, the policy. in has its type and owner defaulted and its role's
// scopes added.
type createPlan struct {
	in            CreateInput
	expiresAt     time.Time
	defaultExpiry bool   // no expiry was asked for
	expiryField   string // the field that asked for one
	risk          access.Risk
	restrictions  restriction.Set
}

// planCreate checks a create request's fields against the catalog and the policy at now,
// before anything is read, every problem at once. Whether the caller may have such a
// token is issuance's to decide (decideIssue), once the calling token is read.
func planCreate(c access.Caller, in CreateInput, cat *access.Catalog, p Policy, now time.Time) (createPlan, error) {
	if !canWrite(c) {
		return createPlan{}, &fault.ForbiddenError{Reason: "creating tokens needs the tokens:write scope"}
	}
	if in.Type == "" {
		in.Type = TypePermanent
	}
	if in.OwnerID == "" {
		in.OwnerID = c.OwnerID
	}
	bad := &fault.InvalidError{}
	CheckName(bad, in.Name, true)
	checkDescription(bad, in.Description)
	if in.Type != TypePermanent && in.Type != TypeTemporary {
		bad.Add("type", "must be permanent or temporary")
	}
	if !ValidOwnerID(in.OwnerID) {
		bad.Add("ownerId", "must be 1-128 characters: letters, digits and . _ @ : -")
	}
	if in.Role != "" {
		// A role expands to its scopes, beside any given one by one.
		if r, ok := cat.Role(in.Role); ok {
			in.Scopes = append(append([]string(nil), in.Scopes...), r.Scopes...)
		} else {
			bad.Add("role", fmt.Sprintf("unknown role %q (GET /roles lists them)", fault.Excerpt(in.Role, 64)))
		}
	}
	scopesOK := checkScopes(bad, cat, in.Scopes)
	expiresAt := expiry(bad, in, now, p)
	risk := cat.RiskOf(in.Scopes)
	if scopesOK {
		checkReason(bad, in.Reason, risk)
	}
	restrict := restriction.Set{IPAllowlist: restriction.ParseAllowlist(bad, in.IPAllowlist), RateLimit: in.RateLimit, TimeRestriction: in.TimeRestriction}
	restriction.CheckRateLimit(bad, in.RateLimit)
	restriction.CheckTimeWindow(bad, in.TimeRestriction)
	checkOnReuse(bad, in.OnReuse)
	if len(restrict.IPAllowlist) == 0 {
		restrict.IPAllowlist = nil
	}
	if err := bad.Err(); err != nil {
		return createPlan{}, err
	}
	field := "expiresIn"
	if in.ExpiresAt != nil {
		field = "expiresAt"
	}
	return createPlan{in: in, expiresAt: expiresAt, defaultExpiry: in.ExpiresIn == "" && in.ExpiresAt == nil, expiryField: field, risk: risk, restrictions: restrict}, nil
}

// ownerAttempts bounds how often Create decides again when the owner changed under it.
const ownerAttempts = 3

// Create issues a token (decideIssue): the caller needs tokens:write (tokens:admin for
// another owner or, by policy, a permanent token), can grant only scopes its calling
// token holds, and the new token is that token's child: bounded by its limits, and, when
// temporary, living no longer than it. The calling token is read once.
//
// The token is written only if its owner is still the principal everything was decided
// on, and its parent still at the version read (Store.Create checks both in the same
// transaction). For a token of the caller itself the owner is the principal the
// authorizer read (c.OwnerVersion): no read of it. When that
// principal changed since, Create reads it, keeps only the caller's scopes it still
// holds, and decides again; a principal deleted (and perhaps created again under the same
// id) is refused. A token for another principal reads that owner first.
func (s *Service) Create(ctx context.Context, c access.Caller, in CreateInput) (Created, error) {
	p, err := s.EffectivePolicy(ctx)
	if err != nil {
		return Created{}, err
	}
	if _, err := planCreate(c, in, s.Catalog, p, s.now()); err != nil {
		return Created{}, err // bad input costs no read but the settings' (at most one a minute)
	}
	via, err := s.via(ctx, c, true)
	if err != nil {
		return Created{}, err
	}
	for attempt := 1; ; attempt++ {
		out, err := s.create(ctx, c, via, in, p)
		switch {
		case attempt == ownerAttempts:
			return out, err
		case errors.Is(err, ErrParentChanged):
			// The calling token changed since it was read (or since the authorizer read
			// it): decide again on the token as it is now.
			if via, err = s.via(ctx, c, false); err != nil {
				return Created{}, err
			}
		case errors.Is(err, ErrOwnerChanged):
			if ownerIsCaller(c, in.OwnerID) {
				if c, err = s.reread(ctx, c); err != nil {
					return Created{}, err
				}
			}
		default:
			return out, err
		}
	}
}

// ownerIsCaller reports whether a token for ownerID can be checked against the
// principal the authorizer read for c, rather than a read.
func ownerIsCaller(c access.Caller, ownerID string) bool {
	return c.OwnerVersion > 0 && (ownerID == "" || ownerID == c.OwnerID)
}

// reread reads the caller's principal again once a write found it changed since the
// authorizer read it: the caller keeps only the scopes the principal holds now. A
// principal deleted, or deleted and created again under the same id (a new
// incarnation), is not the one the calling token belongs to: the token is dead, and the
// authorizer refuses it as soon as its cached read expires.
func (s *Service) reread(ctx context.Context, c access.Caller) (access.Caller, error) {
	p, err := s.Principals.GetPrincipal(ctx, c.OwnerID)
	if errors.Is(err, fault.ErrNotFound) || err == nil && p.Incarnation != c.OwnerIncarnation {
		return c, &fault.ForbiddenError{Reason: fmt.Sprintf("the principal %s that this token belongs to was deleted", c.OwnerID)}
	}
	if err != nil {
		return c, fmt.Errorf("create: owner: %w", err)
	}
	c.Scopes = access.Intersect(c.Scopes, s.Catalog.Holds(p))
	c.Risk = s.Catalog.RiskOf(c.Scopes)
	c.OwnerVersion = p.Version
	return c, nil
}

// owner is the owner of a new token as its write must find it. For the caller itself it
// is the principal the authorizer read, whose holdings already bound c.Scopes and so
// the token's scopes; any other owner is read, and must hold them.
func (s *Service) owner(ctx context.Context, c access.Caller, ownerID string, scopes []string) (OwnerCheck, error) {
	if ownerIsCaller(c, ownerID) {
		return OwnerCheck{ID: c.OwnerID, Incarnation: c.OwnerIncarnation, Version: c.OwnerVersion}, nil
	}
	owner, err := s.Principals.GetPrincipal(ctx, ownerID)
	if errors.Is(err, fault.ErrNotFound) {
		return OwnerCheck{}, fault.Invalid("ownerId", fmt.Sprintf("no principal %q (POST /principals creates one)", ownerID))
	}
	if err != nil {
		return OwnerCheck{}, fmt.Errorf("create: owner: %w", err)
	}
	if missing := access.Missing(scopes, s.Catalog.Holds(owner)); len(missing) > 0 {
		return OwnerCheck{}, fault.Invalid("scopes", fmt.Sprintf("the owner %s does not hold %s", owner.ID, strings.Join(missing, ", ")))
	}
	return CheckOf(owner), nil
}

// create is one attempt of Create: check the fields, decide the issuance through via
// (the calling token as read), then write with the owner and parent checks.
func (s *Service) create(ctx context.Context, c access.Caller, via *Token, in CreateInput, p Policy) (Created, error) {
	now := s.now()
	plan, err := planCreate(c, in, s.Catalog, p, now)
	if err != nil {
		return Created{}, err
	}
	in = plan.in
	id, err := NewID(in.OwnerID, s.Rand)
	if err != nil {
		return Created{}, err
	}
	g, err := Generate(s.Prefix, id, s.Keys, s.Rand)
	if err != nil {
		return Created{}, err
	}
	t := plan.token(c, g, s.Keys.Current(), s.Prefix, now)
	grant, err := decideIssue(issueRequest{kind: IssueCreate, caller: c, via: via, token: t,
		defaultExpiry: plan.defaultExpiry, expiryField: plan.expiryField}, s.Catalog, p, now)
	if err != nil {
		return Created{}, err
	}
	grant.applyNew(t)
	owner, err := s.owner(ctx, c, in.OwnerID, in.Scopes)
	if err != nil {
		return Created{}, err
	}
	t.OwnerIncarnation = owner.Incarnation
	ev := event(audit.EventCreate, c, t, now, in.Reason, audit.Diff(auditFields(nil), auditFields(t)))
	ev.Idempotency = in.Idempotency
	if err := s.Store.Create(ctx, t, owner, parentCheck(via), ev); err != nil {
		return Created{}, fmt.Errorf("create %s: %w", t.ID, err)
	}
	return Created{Token: t, Plaintext: g.Plaintext}, nil
}

// via reads the token the caller calls with: issuance is bounded by it (its scopes were
// narrowed by the authorizer; its restrictions, lifetime and lineage are read here). A
// calling token no longer active since the authorizer let it in mints nothing.
//
// A caller whose token id names no token has none: only an in-process caller of the
// services (a test, an operator tool) can be one. Behind API Gateway the caller comes
// from the authorizer, which read the token, and no API deletes a token item (TTL removes
// one only RETENTION_AFTER_END after it ended, when no authorizer lets it in).
//
// With kept true, a copy in CallingTokens at the version the authorizer read is used
// instead of a read: the child's write checks the parent is still at that version.
func (s *Service) via(ctx context.Context, c access.Caller, kept bool) (*Token, error) {
	if c.TokenID == "" {
		return nil, nil
	}
	t := s.CallingTokens.get(ID(c.TokenID), c.TokenVersion)
	if t == nil || !kept {
		var err error
		t, err = s.Store.Get(ctx, ID(c.TokenID))
		if errors.Is(err, fault.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read calling token %s: %w", c.TokenID, err)
		}
		s.CallingTokens.add(t)
	}
	if st := t.EffectiveStatus(s.now()); st != StatusActive {
		return nil, &fault.ForbiddenError{Reason: fmt.Sprintf("the token you call with is %s", st)}
	}
	return t, nil
}

// parentCheck is the condition a child's write puts on its parent: unchanged since it
// was read, so a parent revoked, disabled or restricted meanwhile mints nothing.
func parentCheck(via *Token) ParentCheck {
	if via == nil {
		return ParentCheck{}
	}
	return ParentCheck{ID: via.ID, Version: via.Version}
}

// applyNew gives a new token what issuance decided.
func (g issueGrant) applyNew(t *Token) {
	t.MintedBy, t.Status, t.ExpiresAt = g.mintedBy, g.status, g.expiresAt
	t.ParentID, t.Ancestors, t.Bounds, t.EndsWith, t.NotAfter = g.parentID, g.ancestors, g.bounds, g.endsWith, g.notAfter
}

// token makes the token the plan describes, with the secret of g hashed under pep;
// issuance then decides its minter, status and lineage.
func (pl createPlan) token(c access.Caller, g Generated, pep Pepper, prefix string, now time.Time) *Token {
	in := pl.in
	t := &Token{
		ID: g.ID, OwnerID: in.OwnerID, CreatedBy: c.OwnerID, MintedBy: c.Minter(),
		Name: in.Name, Description: in.Description,
		Scopes: dedupe(in.Scopes), Type: in.Type, Status: StatusActive,
		Hint:      g.Plaintext.Hint(prefix),
		CreatedAt: now, UpdatedAt: now, ExpiresAt: pl.expiresAt,
		Hash: pep.Hash(g.Secret), PepperVersion: pep.Version,
		Restrictions: pl.restrictions,
		Version:      1,
	}
	t.Restrictions.SetBy(c.Minter(), true, true, true)
	if in.OnReuse == string(ReuseRevoke) {
		t.OnReuse, t.OnReuseSetBy = ReuseRevoke, c.Minter()
	}
	return t
}

// checkOnReuse validates an onReuse setting.
func checkOnReuse(bad *fault.InvalidError, s string) {
	if s != "" && !ValidReuseAction(s) {
		bad.Add("onReuse", fmt.Sprintf("must be %q or %q, not %q", ReuseAlertOnly, ReuseRevoke, fault.Excerpt(s, 32)))
	}
}

func expiry(bad *fault.InvalidError, in CreateInput, now time.Time, p Policy) time.Time {
	at := requestedExpiry(bad, in, now, p)
	if in.Type == TypeTemporary {
		field := "expiresIn"
		if in.ExpiresAt != nil {
			field = "expiresAt"
		}
		addInvalid(bad, checkTemporary(field, at, now, p))
	}
	return at
}

func requestedExpiry(bad *fault.InvalidError, in CreateInput, now time.Time, p Policy) time.Time {
	switch {
	case in.ExpiresIn != "" && in.ExpiresAt != nil:
		bad.Add("expiresAt", "give either expiresIn or expiresAt, not both")
	case in.ExpiresIn != "":
		at, err := ExpiresAt(in.ExpiresIn, now, p)
		addInvalid(bad, err)
		return at
	case in.ExpiresAt != nil:
		at := in.ExpiresAt.UTC().Truncate(time.Second)
		addInvalid(bad, checkLifetime("expiresAt", at, now, p))
		return at
	}
	return DefaultExpiry(in.Type, now, p)
}

func addInvalid(bad *fault.InvalidError, err error) {
	var inv *fault.InvalidError
	if errors.As(err, &inv) {
		bad.Fields = append(bad.Fields, inv.Fields...)
	}
}

// CheckName validates a name (of a token or a principal): 1-100 printable characters,
// not blank. Empty is "required" when required, else "must not be empty" (a PATCH).
func CheckName(bad *fault.InvalidError, name string, required bool) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0 && required:
		bad.Add("name", "is required")
	case n == 0:
		bad.Add("name", "must not be empty")
	case n > 100:
		bad.Add("name", fmt.Sprintf("must be at most 100 characters, got %d", n))
	case strings.TrimSpace(name) == "":
		bad.Add("name", "must not be blank")
	case !printable(name, false):
		bad.Add("name", "must contain only printable characters")
	}
}

func checkDescription(bad *fault.InvalidError, d string) {
	if n := utf8.RuneCountInString(d); n > 500 {
		bad.Add("description", fmt.Sprintf("must be at most 500 characters, got %d", n))
	} else if !printable(d, true) {
		bad.Add("description", "must contain only printable characters and line breaks")
	}
}

func checkReason(bad *fault.InvalidError, reason string, risk access.Risk) {
	if utf8.RuneCountInString(reason) > 500 {
		bad.Add("reason", "must be at most 500 characters")
	} else if !printable(reason, true) {
		bad.Add("reason", "must contain only printable characters and line breaks")
	} else if risk != access.RiskLow && strings.TrimSpace(reason) == "" {
		bad.Add("reason", fmt.Sprintf("is required for %s-risk scopes", risk))
	}
}

func printable(s string, lineBreaks bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if lineBreaks && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// checkScopes reports whether every scope is known.
func checkScopes(bad *fault.InvalidError, cat *access.Catalog, scopes []string) bool {
	if len(scopes) == 0 {
		bad.Add("scopes", "at least one scope is required (or a role)")
		return false
	}
	if len(scopes) > 50 {
		bad.Add("scopes", "at most 50 scopes")
		return false
	}
	ok := true
	for _, sc := range scopes {
		if _, known := cat.Lookup(sc); !known {
			bad.Add("scopes", fmt.Sprintf("unknown scope %q (GET /scopes lists them)", fault.Excerpt(sc, 64)))
			ok = false
		}
	}
	return ok
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func canRead(c access.Caller) bool {
	return c.Has(access.TokensRead) || c.Has(access.TokensWrite) || c.Has(access.TokensAdmin)
}

func canWrite(c access.Caller) bool { return c.Has(access.TokensWrite) || c.Has(access.TokensAdmin) }

// load reads a token the caller may see. Tokens of other principals answer fault.ErrNotFound
// unless the caller has tokens:admin, so ids leak nothing.
func (s *Service) load(ctx context.Context, c access.Caller, id ID, write bool) (*Token, error) {
	if err := mayRead(c, id, write); err != nil {
		return nil, err
	}
	t, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", id, err)
	}
	if !visible(c, t) {
		return nil, fault.ErrNotFound
	}
	return t, nil
}

// mayRead decides, before any read, whether the caller may read (or, when write, change)
// token id: it needs the scope, and an id that is no token id is not found.
func mayRead(c access.Caller, id ID, write bool) error {
	if write && !canWrite(c) {
		return &fault.ForbiddenError{Reason: "changing tokens needs the tokens:write scope"}
	}
	if !write && !canRead(c) {
		return &fault.ForbiddenError{Reason: "reading tokens needs the tokens:read scope"}
	}
	if !ValidID(string(id)) {
		return fault.ErrNotFound
	}
	return nil
}

// visible reports whether the caller may see t: its own, or any with tokens:admin.
func visible(c access.Caller, t *Token) bool {
	return t.OwnerID == c.OwnerID || c.Has(access.TokensAdmin)
}

// Get returns a token the caller may see.
func (s *Service) Get(ctx context.Context, c access.Caller, id ID) (*Token, error) {
	return s.load(ctx, c, id, false)
}

// Self returns the token the request was made with; it needs no scope.
func (s *Service) Self(ctx context.Context, c access.Caller) (*Token, error) {
	t, err := s.Store.Get(ctx, ID(c.TokenID))
	if err != nil {
		return nil, fmt.Errorf("self %s: %w", c.TokenID, err)
	}
	return t, nil
}

// List returns a page of the tokens the caller may see. Without tokens:admin a caller
// sees only its own, whatever ownerId it asks for.
func (s *Service) List(ctx context.Context, c access.Caller, f Filter) ([]*Token, string, error) {
	f, err := listFilter(c, f, s.now())
	if err != nil {
		return nil, "", err
	}
	return s.Store.List(ctx, f)
}

// listFilter is the filter a caller's list runs with: without tokens:admin, its own tokens.
func listFilter(c access.Caller, f Filter, now time.Time) (Filter, error) {
	if !canRead(c) {
		return f, &fault.ForbiddenError{Reason: "listing tokens needs the tokens:read scope"}
	}
	if f.OwnerID != "" && !ValidOwnerID(f.OwnerID) {
		return f, fault.Invalid("ownerId", "is not a valid principal id")
	}
	if !c.Has(access.TokensAdmin) {
		if f.OwnerID != "" && f.OwnerID != c.OwnerID {
			return f, &fault.ForbiddenError{Reason: "listing another principal's tokens needs the tokens:admin scope"}
		}
		f.OwnerID = c.OwnerID
	}
	f.Now = now
	return f, nil
}

// UpdateInput changes a token; nil leaves a field as it is. Security settings change
// only with a reason.
type UpdateInput struct {
	Name        *string
	Description *string

	IPAllowlist     *[]string                // empty: no allowlist
	RateLimit       **restriction.RateLimit  // points to nil: no rate limit
	TimeRestriction **restriction.TimeWindow // points to nil: any time
	OnReuse         *string                  // "alert" or "revoke"
	Reason          string
}

func (in UpdateInput) security() bool {
	return in.IPAllowlist != nil || in.RateLimit != nil || in.TimeRestriction != nil || in.OnReuse != nil
}

// Update changes a token's name or description.
func (s *Service) Update(ctx context.Context, c access.Caller, id ID, in UpdateInput, ifVersion int64) (*Token, error) {
	allow, err := checkUpdate(in)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, c, id, ifVersion, op{typ: audit.EventUpdate, reason: in.Reason}, updateEdit(c, in, allow))
}

// checkUpdate validates an update and returns its parsed IP allowlist (nil: none).
func checkUpdate(in UpdateInput) ([]netip.Prefix, error) {
	bad := &fault.InvalidError{}
	if in.Name == nil && in.Description == nil && !in.security() {
		bad.Add("", "nothing to change: give name, description, ipAllowlist, rateLimit, timeRestriction or onReuse")
	}
	if in.Name != nil {
		CheckName(bad, *in.Name, false)
	}
	if in.Description != nil {
		checkDescription(bad, *in.Description)
	}
	var allow []netip.Prefix
	if in.IPAllowlist != nil {
		if allow = restriction.ParseAllowlist(bad, *in.IPAllowlist); len(allow) == 0 {
			allow = nil
		}
	}
	if in.RateLimit != nil {
		restriction.CheckRateLimit(bad, *in.RateLimit)
	}
	if in.TimeRestriction != nil {
		restriction.CheckTimeWindow(bad, *in.TimeRestriction)
	}
	if in.OnReuse != nil {
		if *in.OnReuse == "" {
			bad.Add("onReuse", fmt.Sprintf("must be %q or %q", ReuseAlertOnly, ReuseRevoke))
		}
		checkOnReuse(bad, *in.OnReuse)
	}
	if in.security() {
		if strings.TrimSpace(in.Reason) == "" && in.OnReuse != nil && in.IPAllowlist == nil && in.RateLimit == nil && in.TimeRestriction == nil {
			bad.Add("reason", "is required to change onReuse, a security setting")
		} else if strings.TrimSpace(in.Reason) == "" {
			bad.Add("reason", "is required to change ipAllowlist, rateLimit or timeRestriction")
		} else {
			checkReason(bad, in.Reason, access.RiskLow)
		}
	}
	return allow, bad.Err()
}

// updateEdit applies a checked update: an ended token no longer changes, and loosening
// a restriction another principal set needs tokens:admin.
func updateEdit(c access.Caller, in UpdateInput, allow []netip.Prefix) edit {
	return func(t *Token, now time.Time) (bool, error) {
		if t.Ended(now) {
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s and can no longer be changed", t.EffectiveStatus(now))}
		}
		if in.Name != nil {
			t.Name = *in.Name
		}
		if in.Description != nil {
			t.Description = *in.Description
		}
		r := &t.Restrictions
		if in.IPAllowlist != nil && !restriction.AllowlistWithin(allow, r.IPAllowlist) {
			if err := mayLoosen(c, t, r.IPAllowlistSetBy, "ipAllowlist"); err != nil {
				return false, err
			}
		}
		if in.RateLimit != nil && !restriction.RateWithin(*in.RateLimit, r.RateLimit) {
			if err := mayLoosen(c, t, r.RateLimitSetBy, "rateLimit"); err != nil {
				return false, err
			}
		}
		if in.TimeRestriction != nil && !restriction.WindowWithin(*in.TimeRestriction, r.TimeRestriction) {
			if err := mayLoosen(c, t, r.TimeRestrictionSetBy, "timeRestriction"); err != nil {
				return false, err
			}
		}
		if in.OnReuse != nil && t.OnReuse.Revokes() && *in.OnReuse != string(ReuseRevoke) {
			if err := mayLoosen(c, t, t.OnReuseSetBy, "onReuse"); err != nil {
				return false, err
			}
		}
		if err := withinBounds(restriction.Set{IPAllowlist: allow, TimeRestriction: deref(in.TimeRestriction)}, t.Bounds); err != nil {
			return false, err
		}
		if in.IPAllowlist != nil {
			r.IPAllowlistSetBy = confirmedBy(c, t, r.IPAllowlistSetBy, len(r.IPAllowlist) > 0, len(allow) > 0)
			r.IPAllowlist = allow
		}
		if in.RateLimit != nil {
			r.RateLimitSetBy = confirmedBy(c, t, r.RateLimitSetBy, r.RateLimit != nil, *in.RateLimit != nil)
			r.RateLimit = *in.RateLimit
		}
		if in.TimeRestriction != nil {
			r.TimeRestrictionSetBy = confirmedBy(c, t, r.TimeRestrictionSetBy, r.TimeRestriction != nil, *in.TimeRestriction != nil)
			r.TimeRestriction = *in.TimeRestriction
		}
		if in.OnReuse != nil {
			revoke := *in.OnReuse == string(ReuseRevoke)
			t.OnReuseSetBy = confirmedBy(c, t, t.OnReuseSetBy, t.OnReuse.Revokes(), revoke)
			t.OnReuse = ""
			if revoke {
				t.OnReuse = ReuseRevoke
			}
		}
		return true, nil
	}
}

// confirmedBy is who a restriction is recorded as set by after the caller set it (to
// something: set) or cleared it, when it was there before (had) or not: the strongest
// authority that set or confirmed it. An admin (tokens:admin) takes it over; so does the
// caller that sets one where there was none, or that set it itself with its own token.
// Anyone else only tightens it and leaves it with its setter: an owner who "tightens" an
// admin's restriction to the same value gains no right to loosen it later.
func confirmedBy(c access.Caller, t *Token, setBy string, had, set bool) string {
	switch {
	case !set:
		return ""
	case c.Has(access.TokensAdmin), !had, setByCaller(c, t, setBy):
		return c.Minter()
	}
	return setBy
}

func deref[T any](p **T) *T {
	if p == nil {
		return nil
	}
	return *p
}

// setByCaller reports whether who (a restriction's setter, or who disabled a token;
// empty: the token's creator) is the caller acting with its own token. A delegated token
// acts for nobody in person, not even for its minter.
func setByCaller(c access.Caller, t *Token, who string) bool {
	if who == "" {
		who = t.CreatedBy
	}
	return !c.Delegated() && who == c.OwnerID
}

// mayLoosen refuses to loosen or clear a restriction that another principal set, unless
// the caller has tokens:admin: restrictions an admin set bind the owner.
func mayLoosen(c access.Caller, t *Token, setBy, field string) error {
	if c.Has(access.TokensAdmin) || setByCaller(c, t, setBy) {
		return nil
	}
	if setBy == "" {
		setBy = t.CreatedBy
	}
	return &fault.ForbiddenError{Reason: fmt.Sprintf("%s was set by %s: loosening or clearing it needs the tokens:admin scope (tightening is always allowed)", field, setBy)}
}

// edit changes a token read at now, deciding from what it holds; it returns false when
// there is nothing to write. Edits read nothing and write nothing themselves.
type edit func(t *Token, now time.Time) (bool, error)

// change reads a token the caller may change, applies f, and writes it back only if
// nobody changed it meanwhile. f returns false when there is nothing to write.
// ifVersion, when not 0, is the version the client last read (If-Match).
func (s *Service) change(ctx context.Context, c access.Caller, id ID, ifVersion int64, op op, f edit) (*Token, error) {
	t, err := s.load(ctx, c, id, true)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, c, t, ifVersion, op, f)
}

// op names a change for the audit trail.
type op struct {
	typ    audit.EventType
	reason string
	extra  []audit.Change // recorded beside the field changes, e.g. a rotation's grace period
	// idempotency is the Idempotency-Key the change was asked with, if any.
	idempotency *audit.Idempotency
}

// apply runs f on a token already loaded and checked, and writes it with its audit
// record in one transaction, only if nobody changed the token meanwhile.
func (s *Service) apply(ctx context.Context, c access.Caller, t *Token, ifVersion int64, op op, f edit) (*Token, error) {
	old := t.Version
	t, ev, err := applyEdit(c, t, ifVersion, op, f, s.now())
	if err != nil || ev == nil {
		return t, err
	}
	if err := s.Store.Put(ctx, t, old, *ev); err != nil {
		return nil, fmt.Errorf("%s %s: put: %w", op.typ, t.ID, err)
	}
	return t, nil
}

// applyEdit is what apply decides: fault.ErrConflict when the client read another version
// (ifVersion, 0: any), else f applied at now, the version and update time advanced and
// the audit record of the change. A nil record means nothing to write.
func applyEdit(c access.Caller, t *Token, ifVersion int64, op op, f edit, now time.Time) (*Token, *audit.Event, error) {
	if ifVersion != 0 && t.Version != ifVersion {
		return nil, nil, fault.ErrConflict
	}
	before := auditFields(t)
	changed, err := f(t, now)
	if err != nil || !changed {
		return t, nil, err
	}
	t.Version++
	t.UpdatedAt = now
	ev := event(op.typ, c, t, now, op.reason, append(audit.Diff(before, auditFields(t)), op.extra...))
	ev.Idempotency = op.idempotency
	return t, &ev, nil
}

// RotateInput is what a rotation may set beside the new secret.
type RotateInput struct {
	// GracePeriod (at most 24h) keeps the old secret working, so clients can be switched
	// over without downtime.
	GracePeriod time.Duration
	// ExpiresIn or ExpiresAt give the token a new expiry, counted from now, as at
	// creation; neither keeps the expiry it has (rotating an expiring token alone does
	// not save it from expiring).
	ExpiresIn string
	ExpiresAt *time.Time
	// Idempotency, when set, makes the rotation safe to send again: the same request with
	// the same key rotates nothing more (audit.IdempotencyReplayError).
	Idempotency *audit.Idempotency
}

// Rotate gives a token a new secret under the same id, and a new expiry if asked. It is
// issuance (decideIssue): rotating a token other than the one the caller calls with
// passes the rules of creating that very token for its owner now, and a high-risk token
// rotated by anyone but its owner goes back to pending until a second admin approves.
// The lineage (parent, creator, bounds, latest end) never changes.
func (s *Service) Rotate(ctx context.Context, c access.Caller, id ID, in RotateInput) (Created, error) {
	p, err := s.EffectivePolicy(ctx)
	if err != nil {
		return Created{}, err
	}
	plan, err := planRotate(in, p, s.now())
	if err != nil {
		return Created{}, err
	}
	g, err := Generate(s.Prefix, id, s.Keys, s.Rand)
	if err != nil {
		return Created{}, err
	}
	var t *Token
	if string(id) == c.TokenID {
		// Any valid token may rotate itself, as any may read itself: it gains nothing (same
		// scopes, expiry and lineage), and a CI job renews its own secret this way.
		t, err = s.Store.Get(ctx, id)
	} else {
		t, err = s.load(ctx, c, id, true)
	}
	if err != nil {
		return Created{}, err
	}
	via := t
	if string(t.ID) != c.TokenID {
		if via, err = s.via(ctx, c, true); err != nil {
			return Created{}, err
		}
	}
	t, err = s.apply(ctx, c, t, 0, op{typ: audit.EventRotate, extra: plan.extra(), idempotency: in.Idempotency}, plan.edit(c, via, g, s.Keys.Current(), s.Prefix, s.Catalog, p))
	if err != nil {
		return Created{}, err
	}
	return Created{Token: t, Plaintext: g.Plaintext}, nil
}

// rotatePlan is a checked rotation request.
type rotatePlan struct {
	grace     time.Duration
	redate    bool      // a new expiry was asked for
	expiresAt time.Time // the new expiry when redate
	field     string    // the field that asked for it, for errors
}

// planRotate validates a rotation at now: the grace period and any new expiry.
func planRotate(in RotateInput, p Policy, now time.Time) (rotatePlan, error) {
	pl := rotatePlan{grace: in.GracePeriod, redate: in.ExpiresIn != "" || in.ExpiresAt != nil, field: "expiresIn"}
	bad := &fault.InvalidError{}
	if pl.grace < 0 || pl.grace > MaxGracePeriod {
		bad.Add("gracePeriod", "must be between 0s and 24h")
	}
	if pl.redate {
		pl.expiresAt = requestedExpiry(bad, CreateInput{ExpiresIn: in.ExpiresIn, ExpiresAt: in.ExpiresAt}, now, p)
	}
	if in.ExpiresAt != nil {
		pl.field = "expiresAt"
	}
	return pl, bad.Err()
}

// extra is what the audit record notes beside the field changes: the secret was
// replaced (never its value), and the grace period.
func (pl rotatePlan) extra() []audit.Change {
	extra := []audit.Change{{Field: "secret", From: "", To: "replaced"}}
	if pl.grace > 0 {
		extra = append(extra, audit.Change{Field: "gracePeriod", To: pl.grace.String()})
	}
	return extra
}

// edit gives the token the secret of g, hashed under pep, as issuance to the caller
// (calling with via) allows: an ended token cannot be rotated, and the old secret
// verifies during the grace period only.
func (pl rotatePlan) edit(c access.Caller, via *Token, g Generated, pep Pepper, prefix string, cat *access.Catalog, p Policy) edit {
	return func(t *Token, now time.Time) (bool, error) {
		if t.Ended(now) {
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s and cannot be rotated", t.EffectiveStatus(now))}
		}
		x := *t
		if pl.redate {
			x.ExpiresAt = pl.expiresAt
		}
		if via != nil && via.ID == t.ID {
			via = &x
		}
		grant, err := decideIssue(issueRequest{kind: IssueRotate, caller: c, via: via, token: &x, redated: pl.redate, expiryField: pl.field}, cat, p, now)
		if err != nil {
			return false, err
		}
		retire(t, now, pl.grace, grant.status == StatusActive)
		t.Hash, t.PepperVersion, t.Hint = pep.Hash(g.Secret), pep.Version, g.Plaintext.Hint(prefix)
		t.MintedBy, t.Status, t.ExpiresAt = grant.mintedBy, grant.status, grant.expiresAt
		return true, nil
	}
}

// retire moves t's secret to PrevHash, which verifies during the grace period only (none
// unless the token stays active), and the previous one to the front of Retired (at most
// MaxRetired): presented later, any of them is a reuse.
func retire(t *Token, now time.Time, grace time.Duration, active bool) {
	if len(t.PrevHash) > 0 {
		t.Retired = append([]RetiredSecret{{Hash: t.PrevHash, PepperVersion: t.PrevPepperVersion}}, t.Retired...)
		if len(t.Retired) > MaxRetired {
			t.Retired = t.Retired[:MaxRetired]
		}
	}
	if !active {
		grace = 0
	}
	t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = t.Hash, t.PepperVersion, now.Add(grace)
}

// Disable suspends an active token; disabling a disabled token changes nothing.
func (s *Service) Disable(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	if err := checkOptionalReason(reason); err != nil {
		return nil, err
	}
	return s.change(ctx, c, id, 0, op{typ: audit.EventDisable, reason: reason}, disableEdit(c))
}

// disableEdit suspends an active token, remembering who did.
func disableEdit(c access.Caller) edit {
	return func(t *Token, now time.Time) (bool, error) {
		switch st := t.EffectiveStatus(now); st {
		case StatusDisabled:
			return false, nil
		case StatusActive:
			t.Status, t.DisabledBy = StatusDisabled, c.Minter()
			return true, nil
		default:
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s and cannot be disabled", st)}
		}
	}
}

// Enable resumes a disabled token; enabling an active token changes nothing.
func (s *Service) Enable(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	if err := checkOptionalReason(reason); err != nil {
		return nil, err
	}
	return s.change(ctx, c, id, 0, op{typ: audit.EventEnable, reason: reason}, enableEdit(c))
}

// enableEdit resumes a disabled token: one another principal disabled needs tokens:admin.
func enableEdit(c access.Caller) edit {
	return func(t *Token, now time.Time) (bool, error) {
		switch st := t.EffectiveStatus(now); st {
		case StatusActive:
			return false, nil
		case StatusDisabled:
			if !c.Has(access.TokensAdmin) && !setByCaller(c, t, t.DisabledBy) {
				return false, &fault.ForbiddenError{Reason: "the token was disabled by another principal: enabling it needs the tokens:admin scope"}
			}
			t.Status, t.DisabledBy = StatusActive, ""
			return true, nil
		default:
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s and cannot be enabled", st)}
		}
	}
}

// Revoke ends a token for good. It stays visible for the retention period, then TTL
// removes it. Revoking a revoked token changes nothing.
func (s *Service) Revoke(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	if err := checkOptionalReason(reason); err != nil {
		return nil, err
	}
	return s.change(ctx, c, id, 0, op{typ: audit.EventRevoke, reason: reason}, revokeEdit)
}

// revokeEdit ends a token for good, and any rotation grace period with it.
func revokeEdit(t *Token, now time.Time) (bool, error) {
	if t.Status == StatusRevoked {
		return false, nil
	}
	t.Status, t.EndedAt = StatusRevoked, now
	t.PrevHash, t.PrevPepperVersion, t.PrevValidUntil = nil, 0, time.Time{}
	return true, nil
}

// checkOptionalReason validates a reason a client may give for the audit trail.
func checkOptionalReason(reason string) error {
	bad := &fault.InvalidError{}
	checkReason(bad, reason, access.RiskLow)
	return bad.Err()
}
