package token

import (
	"context"
	"time"

	"tokengate/shared/access"
)

// Store keeps tokens. shared/store implements it on DynamoDB; it lives here so token
// never imports the SDK.
type Store interface {
	// Get returns ErrNotFound when no token has this id.
	Get(ctx context.Context, id ID) (*Token, error)
	// Put writes t only if the stored version is still ifVersion (0: the token is new),
	// else returns ErrConflict. It never touches the usage fields, which the authorizer
	// adds to concurrently. The events are written in the same transaction: no change
	// without its audit record, no record without its change.
	Put(ctx context.Context, t *Token, ifVersion int64, events ...Event) error
	// List returns one page of tokens, newest first.
	List(ctx context.Context, f Filter) (page []*Token, next string, err error)
	// Pending returns one page of the tokens awaiting approval, oldest first.
	Pending(ctx context.Context, limit int, cursor string) (page []*Token, next string, err error)
	// Events returns one page of audit records, newest first.
	Events(ctx context.Context, f AuditFilter) (page []*Event, next string, err error)
	// Expiring finds tokens by expiry (ExpiryStore): the notifier and GET /alerts.
	ExpiryStore
}

// RateCounter counts requests per key and window across every instance (shared/store
// implements it on the table): a token's rate limit in the authorizer, and the
// per-source limits of leak reports and enrollment (keyed by the source, not a token).
type RateCounter interface {
	// TakeRate counts one request of key in the window starting at window, per long,
	// and reports whether it is within limit; on an error, callers refuse the request.
	TakeRate(ctx context.Context, key ID, window time.Time, per time.Duration, limit int) (bool, error)
}

// Principals reads the principals that own tokens (shared/store implements it).
type Principals interface {
	// GetPrincipal returns ErrNotFound when no principal has this id.
	GetPrincipal(ctx context.Context, id string) (*access.Principal, error)
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
