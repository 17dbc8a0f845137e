package token

import (
	"context"
	"fmt"
	"time"

	"tokengate/shared/access"
)

// Store keeps tokens. shared/store implements it on DynamoDB; it lives here so token
// never imports the SDK.
type Store interface {
	// Get returns fault.ErrNotFound when no token has this id.
	Get(ctx context.Context, id ID) (*Token, error)
	// Put writes t only if the stored version is still ifVersion (0: the token is new),
	// else returns fault.ErrConflict. It never touches the usage fields, which the authorizer
	// adds to concurrently. The events are written in the same transaction: no change
	// without its audit record, no record without its change.
	Put(ctx context.Context, t *Token, ifVersion int64, events ...Event) error
	// Create writes a new token with its audit records in one transaction, and only if
	// its owner principal is still owner (same id, incarnation and version): the rules
	// that depend on the owner hold when the token is written. It returns fault.ErrConflict
	// when the id is taken, ErrOwnerChanged when the owner changed; either way nothing
	// is written.
	// The parent check, when set, requires the parent token still at that version (a
	// parent revoked, disabled or changed since it was read fails as ErrOwnerChanged does
	// not: fault.ErrConflict).
	Create(ctx context.Context, t *Token, owner OwnerCheck, parent ParentCheck, events ...Event) error
	// List returns one page of tokens, newest first.
	List(ctx context.Context, f Filter) (page []*Token, next string, err error)
	// Pending returns one page of the tokens awaiting approval, oldest first.
	Pending(ctx context.Context, limit int, cursor string) (page []*Token, next string, err error)
	// Events returns one page of audit records, newest first.
	Events(ctx context.Context, f AuditFilter) (page []*Event, next string, err error)
	// Expiring finds tokens by expiry (ExpiryStore): the notifier and GET /alerts.
	ExpiryStore
}

// OwnerCheck is a principal as a decision saw it: Store.Create writes only while the
// stored principal has this id, incarnation (empty: a principal stored before
// incarnations, which has none) and version.
type OwnerCheck struct {
	ID          string
	Incarnation string
	Version     int64
}

// ParentCheck is the token a child was decided on: Store.Create writes only while it is
// still at Version. The zero value checks nothing (a root, or a caller with no token).
type ParentCheck struct {
	ID      ID
	Version int64
}

// CheckOf is the OwnerCheck of p as read.
func CheckOf(p *access.Principal) OwnerCheck {
	return OwnerCheck{ID: p.ID, Incarnation: p.Incarnation, Version: p.Version}
}

// Filter selects tokens for List. Cursor is opaque: the next value of a previous page.
type Filter struct {
	OwnerID        string // empty: every owner (callers with tokens:admin only)
	Status         Status // empty: any
	ExpiringWithin time.Duration
	Now            time.Time
	Limit          int
	Cursor         string
}

// Match reports whether t passes the filter's status and expiry conditions.
func (f Filter) Match(t *Token) bool {
	if f.Status != "" && t.EffectiveStatus(f.Now) != f.Status {
		return false
	}
	if f.ExpiringWithin > 0 {
		if t.ExpiresAt.IsZero() || t.IsExpired(f.Now) || t.ExpiresAt.After(f.Now.Add(f.ExpiringWithin)) {
			return false
		}
	}
	return true
}

// SkippedError is returned, together with the rest of the result, by a read that passed
// over stored items that do not decode: bad stored data never stops a listing or a run.
// Each was logged by id where it was read; IDs name them again for the caller's count.
type SkippedError struct{ IDs []ID }

func (e *SkippedError) Error() string {
	return fmt.Sprintf("%d stored items do not decode and were skipped (first: %s)", len(e.IDs), e.IDs[0])
}
