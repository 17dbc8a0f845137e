package token

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

// Issuance is the one way a working secret comes into being. Create (for oneself or
// another), rotate, enrollment and bootstrap all ask decideIssue, and nothing else hands
// a secret out; approval, which makes an issued secret work, is decided by notRequester
// and the four-eyes rules (governance.go). The invariant, written once here and tested
// as a table (issue_test.go):
//
//	what a caller receives never carries more than the caller could have been given
//	directly, and never sheds what bounds the token it came from.
//
// "Directly" means a create by the caller, through the token it calls with (via): the
// scopes within via's (already narrowed to what its owner holds now), another owner only
// with tokens:admin and the caller's own authority, a permanent token only with
// tokens:admin when PERMANENT_TOKENS_ADMIN_ONLY, and limits (IP allowlists, time windows,
// rate counters) at least via's. Rotation is issuance of the rotated token to whoever
// rotates it: it passes the same checks, unless the caller rotates the very token it
// calls with (which gives it nothing it does not have).

// IssueKind names a path that hands out a secret.
type IssueKind string

// The paths.
const (
	IssueCreate    IssueKind = "create"
	IssueRotate    IssueKind = "rotate"
	IssueEnroll    IssueKind = "enroll"    // a principal's first token, for itself, from its enrollment mail
	IssueBootstrap IssueKind = "bootstrap" // the first superuser's root token, by the operator
)

// issueRequest is one issuance to decide.
type issueRequest struct {
	kind   IssueKind
	caller access.Caller
	// via is the calling token as read now (create and rotate). nil only for a root
	// (enroll, bootstrap) or a caller that came with no token id (in-process tests).
	via *Token
	// token is what would be issued: for a create the planned token (owner, type,
	// scopes, restrictions, expiry); for a rotation the stored token, with the new expiry
	// when redated.
	token *Token
	// defaultExpiry: a create gave no expiry (it may be shortened to the parent's end).
	defaultExpiry bool
	// redated: a rotation asks for a new expiry; expiryField names the field that did.
	redated     bool
	expiryField string
}

// issueGrant is what decideIssue lets the issued token be.
type issueGrant struct {
	mintedBy  string // whose authority the secret carries
	status    Status // active, or pending until a second admin approves
	expiresAt time.Time
	// Lineage, for a new token only (a rotation keeps the token's own).
	parentID  ID
	ancestors []ID
	bounds    restriction.Bounds
	endsWith  []ID
	notAfter  time.Time
}

// decideIssue applies the issuance invariant to r at now. Refusals are a
// *fault.ForbiddenError (authority) or a *fault.InvalidError naming the field (a lifetime
// the lineage does not allow); nothing is decided twice elsewhere.
func decideIssue(r issueRequest, cat *access.Catalog, p Policy, now time.Time) (issueGrant, error) {
	switch r.kind {
	case IssueEnroll, IssueBootstrap:
		return decideRoot(r, cat)
	case IssueCreate:
		return decideCreate(r, cat, p, now)
	case IssueRotate:
		return decideRotate(r, cat, p, now)
	}
	return issueGrant{}, fmt.Errorf("issue: unknown kind %q", r.kind)
}

// decideRoot: a root token has no parent; the principal mints it for itself. A first
// token from an enrollment carries no high-risk scope (nobody has approved one); only the
// operator's bootstrap mints one that does.
func decideRoot(r issueRequest, cat *access.Catalog) (issueGrant, error) {
	x := r.token
	if r.via != nil || x.OwnerID != r.caller.OwnerID || r.caller.Delegated() {
		return issueGrant{}, &fault.ForbiddenError{Reason: "a root token is minted by its owner for itself, through no other token"}
	}
	if r.kind == IssueEnroll && cat.RiskOf(x.Scopes) == access.RiskHigh {
		return issueGrant{}, &fault.ForbiddenError{Reason: "a first token carries no high-risk scope: request one with it, and another admin approves"}
	}
	return issueGrant{mintedBy: x.OwnerID, status: StatusActive, expiresAt: x.ExpiresAt}, nil
}

// mayIssueFor checks the caller's personal authority over the owner of x and the scopes
// and permanence x would carry, as a create would.
func mayIssueFor(c access.Caller, x *Token, what string, p Policy) error {
	if x.OwnerID != c.OwnerID {
		if !c.Has(access.TokensAdmin) {
			return &fault.ForbiddenError{Reason: what + " for another principal needs the tokens:admin scope"}
		}
		if c.Delegated() {
			return &fault.ForbiddenError{Reason: fmt.Sprintf("this token was minted by %s for %s: a delegated token cannot %s for other principals", c.Minter(), c.OwnerID, strings.ToLower(what))}
		}
	}
	if x.Type == TypePermanent && p.PermanentAdminOnly && !c.Has(access.TokensAdmin) {
		if what == "Rotating" {
			return &fault.ForbiddenError{Reason: "rotating a permanent token with another token needs the tokens:admin scope (PERMANENT_TOKENS_ADMIN_ONLY): rotate it with itself, or ask an admin"}
		}
		return &fault.ForbiddenError{Reason: `creating permanent tokens needs the tokens:admin scope; create a "temporary" token instead`}
	}
	if missing := access.Missing(x.Scopes, c.Scopes); len(missing) > 0 {
		return &fault.ForbiddenError{Reason: "a token cannot carry scopes the token you call with does not: " + strings.Join(missing, ", ")}
	}
	return nil
}

// MaxDepth bounds a lineage: a token has at most this many ancestors, which the
// authorizer reads (in one request) when it meets the token.
const MaxDepth = 16

// tooDeep refuses a lineage whose piled-up bounds would pass MaxBounds, or whose
// ancestors would pass MaxDepth.
func tooDeep(g issueGrant) error {
	b := g.bounds
	if len(b.IPAllowlists) > restriction.MaxBounds || len(b.TimeWindows) > restriction.MaxBounds || len(b.Rates) > restriction.MaxBounds || len(g.endsWith) > restriction.MaxBounds {
		return &fault.ForbiddenError{Reason: fmt.Sprintf("this token's lineage already carries %d restricted or temporary ancestors: mint from a token nearer the root", restriction.MaxBounds)}
	}
	if len(g.ancestors) > MaxDepth {
		return &fault.ForbiddenError{Reason: fmt.Sprintf("this token's lineage is %d tokens deep already: mint from a token nearer the root", MaxDepth)}
	}
	return nil
}

func decideCreate(r issueRequest, cat *access.Catalog, p Policy, now time.Time) (issueGrant, error) {
	c, x, via := r.caller, r.token, r.via
	if err := mayIssueFor(c, x, "Creating tokens", p); err != nil {
		return issueGrant{}, err
	}
	g := issueGrant{mintedBy: c.Minter(), status: StatusActive, expiresAt: x.ExpiresAt}
	if via != nil {
		g.parentID, g.bounds = via.ID, via.Limits()
		g.ancestors = append([]ID{via.ID}, via.Ancestors...)
		if x.Type == TypeTemporary {
			// A temporary child lives and dies with its parent (and with what the parent
			// lives with, when the parent is temporary too).
			g.endsWith = append([]ID{via.ID}, via.EndsWith...)
		}
	}
	if err := tooDeep(g); err != nil {
		return issueGrant{}, err
	}
	if err := withinBounds(x.Restrictions, g.bounds); err != nil {
		return issueGrant{}, err
	}
	if x.Type == TypeTemporary {
		g.notAfter = now.Add(p.maxTemporary())
		if via != nil {
			g.notAfter = earliest(g.notAfter, via.ExpiresAt, via.NotAfter)
		}
		if r.defaultExpiry && g.expiresAt.After(g.notAfter) {
			g.expiresAt = g.notAfter
		}
		if g.expiresAt.IsZero() || g.expiresAt.After(g.notAfter) {
			field := "expiresIn"
			if !r.defaultExpiry && r.expiryField != "" {
				field = r.expiryField
			}
			return issueGrant{}, fault.Invalid(field, fmt.Sprintf("a temporary token cannot outlive the token that mints it: choose an expiry no later than %s", g.notAfter.UTC().Format(time.RFC3339)))
		}
	}
	if cat.RiskOf(x.Scopes) == access.RiskHigh {
		if session(c, x, g.expiresAt, now, p) {
			// A session of the calling token adds no authority (its scopes are within
			// the calling token's, which was approved): active at once, and it can never
			// be rotated past the end it was issued with.
			g.notAfter = g.expiresAt
		} else {
			g.status = StatusPending
		}
	}
	return g, nil
}

// session reports whether x is a session of the calling token: a temporary token the
// caller's principal mints for itself that ends within TEMPORARY_TOKEN_TTL (the
// console's sign-in).
func session(c access.Caller, x *Token, expiresAt, now time.Time, p Policy) bool {
	return x.Type == TypeTemporary && x.OwnerID == c.OwnerID &&
		!expiresAt.IsZero() && !expiresAt.After(now.Add(p.TemporaryTTL))
}

func decideRotate(r issueRequest, cat *access.Catalog, p Policy, now time.Time) (issueGrant, error) {
	c, x, via := r.caller, r.token, r.via
	self := via != nil && via.ID == x.ID
	if !self {
		if err := mayIssueFor(c, x, "Rotating", p); err != nil {
			return issueGrant{}, err
		}
		if via != nil && !restriction.BoundsWithin(x.Limits(), via.Limits()) {
			return issueGrant{}, &fault.ForbiddenError{Reason: "the token is less restricted (IP allowlist, time window or rate limit) than the token you call with: rotating it would hand you more than you could create; rotate it with a token that is at least as restricted"}
		}
	} else if r.redated && x.Type == TypePermanent && p.PermanentAdminOnly && !c.Has(access.TokensAdmin) {
		return issueGrant{}, &fault.ForbiddenError{Reason: "giving a permanent token a new expiry needs the tokens:admin scope"}
	}
	g := issueGrant{mintedBy: x.MintedBy, status: x.Status, expiresAt: x.ExpiresAt}
	personal := c.OwnerID == x.OwnerID && !c.Delegated()
	if !personal {
		// Whoever receives the new secret minted it: anyone but the owner acting in
		// person holds a delegated token from now on, never the owner's own authority.
		g.mintedBy = c.Minter()
	}
	if x.Type == TypeTemporary && r.redated {
		limit := x.NotAfter
		if limit.IsZero() {
			limit = x.CreatedAt.Add(p.maxTemporary()) // stored before NotAfter existed
		}
		if g.expiresAt.IsZero() || g.expiresAt.After(limit) {
			return issueGrant{}, fault.Invalid(r.expiryField, fmt.Sprintf("a temporary token never lives past %s (MAX_TEMPORARY_TOKEN_LIFETIME from its creation, no later than the token that minted it; a session never past the end it was issued with)", limit.UTC().Format(time.RFC3339)))
		}
	}
	if cat.RiskOf(x.Scopes) == access.RiskHigh && c.OwnerID != x.OwnerID && x.Status == StatusActive {
		// Issuance to someone other than the owner: a second admin approves, as at creation.
		g.status = StatusPending
	}
	return g, nil
}

// earliest is the earliest of at and the non-zero times of more.
func earliest(at time.Time, more ...time.Time) time.Time {
	for _, m := range more {
		if !m.IsZero() && m.Before(at) {
			at = m
		}
	}
	return at
}

// withinBounds refuses own restrictions that reach outside what the lineage allows: an
// allowlist or time window that is not inside every one the bounds hold would never
// match as asked (the bounds apply anyway), so the request is refused, naming the field.
func withinBounds(r restriction.Set, b restriction.Bounds) error {
	for _, l := range b.IPAllowlists {
		if len(r.IPAllowlist) > 0 && !restriction.AllowlistWithin(r.IPAllowlist, l) {
			return fault.Invalid("ipAllowlist", "must be within the IP allowlist of the token that mints it: "+prefixes(l))
		}
	}
	for _, w := range b.TimeWindows {
		if r.TimeRestriction != nil && !restriction.WindowWithin(r.TimeRestriction, &w) {
			return fault.Invalid("timeRestriction", fmt.Sprintf("must be within the time window of the token that mints it: %s %02d-%02d UTC", strings.Join(w.Days, ","), w.StartHour, w.EndHour))
		}
	}
	return nil
}

func prefixes(l []netip.Prefix) string {
	out := make([]string, len(l))
	for i, p := range l {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}
