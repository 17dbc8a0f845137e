// Package access owns who may do what: the scope catalog with risk levels, roles, and the
// caller a request acts as. It knows nothing of HTTP, Lambda or DynamoDB; the authorizer
// puts a Caller into the request context and handlers read it back with CallerFrom.
package access

import (
	"context"
	"strconv"
	"strings"
)

// Caller is the verdict of the authorizer: the token a request was made with, its owner,
// who minted it, and the scopes the request may use (already narrowed to what the owner
// holds now).
type Caller struct {
	TokenID string
	OwnerID string
	// MinterID is the principal whose own authority the token carries: the owner for a
	// token a principal minted for itself, else the principal who minted it for the owner
	// (following the chain). Empty means the owner.
	MinterID string
	Scopes   []string
	Risk     Risk
	// OwnerVersion and OwnerIncarnation are the owner principal as the authorizer read it
	// when it narrowed Scopes (0 and "": unknown). Creating a token for the caller itself
	// then needs no read of the owner: the write checks that the principal is still this
	// one (token.OwnerCheck), else the owner is read again and everything decided again.
	OwnerVersion     int64
	OwnerIncarnation string
	// TokenVersion is the calling token's version as the authorizer read it (0:
	// unknown): issuance, bounded by the calling token, may reuse a copy of that version
	// it already read, and its write checks the token is still at it.
	TokenVersion int64
}

// Minter is the principal whose personal authority the calling token carries.
func (c Caller) Minter() string {
	if c.MinterID == "" {
		return c.OwnerID
	}
	return c.MinterID
}

// Delegated reports whether the calling token was minted by one principal for another.
// Authority is personal: a delegated token never approves, rejects, turns on emergency
// access, makes superusers, changes grants or mints tokens for others.
func (c Caller) Delegated() bool { return c.Minter() != c.OwnerID }

// Has reports whether the caller may use scope.
func (c Caller) Has(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Context keys of the authorizer context, as API Gateway hands them to a function
// (requestContext.authorizer.lambda) and as the local gateway sets them.
const (
	KeyTokenID  = "tokenId"
	KeyOwnerID  = "ownerId"
	KeyMinterID = "minterId"
	KeyScopes   = "scopes"
	KeyRisk     = "risk"
	// KeyOwnerVersion (decimal) and KeyOwnerIncarnation: the owner principal as the
	// authorizer read it (Caller.OwnerVersion, Caller.OwnerIncarnation).
	KeyOwnerVersion     = "ownerVersion"
	KeyOwnerIncarnation = "ownerIncarnation"
	// KeyTokenVersion (decimal): the calling token's version as the authorizer read it.
	KeyTokenVersion = "tokenVersion"
)

// Context returns the authorizer context for c: every value a string, as a REST API
// authorizer's context must be (no arrays or objects); scopes are space-separated.
func (c Caller) Context() map[string]string {
	m := map[string]string{
		KeyTokenID:  c.TokenID,
		KeyOwnerID:  c.OwnerID,
		KeyMinterID: c.Minter(),
		KeyScopes:   strings.Join(c.Scopes, " "),
		KeyRisk:     string(c.Risk),
	}
	if c.OwnerVersion > 0 {
		m[KeyOwnerVersion] = strconv.FormatInt(c.OwnerVersion, 10)
		m[KeyOwnerIncarnation] = c.OwnerIncarnation
	}
	if c.TokenVersion > 0 {
		m[KeyTokenVersion] = strconv.FormatInt(c.TokenVersion, 10)
	}
	return m
}

// CallerFromContext reads a Caller back from an authorizer context. Values that are not
// strings are ignored: API Gateway passes the simple response's context through as JSON.
// An owner version that is not a positive decimal leaves the owner unknown.
func CallerFromContext(m map[string]any) (Caller, bool) {
	str := func(k string) string { s, _ := m[k].(string); return s }
	c := Caller{TokenID: str(KeyTokenID), OwnerID: str(KeyOwnerID), MinterID: str(KeyMinterID), Scopes: strings.Fields(str(KeyScopes)), Risk: Risk(str(KeyRisk))}
	if v, err := strconv.ParseInt(str(KeyOwnerVersion), 10, 64); err == nil && v > 0 {
		c.OwnerVersion, c.OwnerIncarnation = v, str(KeyOwnerIncarnation)
	}
	if v, err := strconv.ParseInt(str(KeyTokenVersion), 10, 64); err == nil && v > 0 {
		c.TokenVersion = v
	}
	return c, c.TokenID != "" && c.OwnerID != ""
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx; ok is false for an unauthenticated request.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}
