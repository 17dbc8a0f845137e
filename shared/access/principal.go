package access

import (
	"context"
	"time"
)

// Principals reads principals: the one interface every package that looks a principal up
// uses (shared/store implements it on the table).
type Principals interface {
	// GetPrincipal returns fault.ErrNotFound when no principal has this id.
	GetPrincipal(ctx context.Context, id string) (*Principal, error)
}

// Principal is a user or an application that owns tokens. Its roles decide the scopes
// it holds now; its tokens never grant more.
type Principal struct {
	ID        string
	Name      string
	Email     string // where expiry and leak notices go; may be empty
	Kind      string // "user" or "application"
	Roles     []string
	Scopes    []string // scopes held directly, beside those of the roles
	Superuser bool     // may turn on emergency access
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64 // increases with every change; writes are conditional on it
	// Incarnation is random and set once, when the principal is created (shared/store
	// does it): its tokens carry it, so a principal deleted and created again under the
	// same id, even within the same second, never revives the old one's tokens.
	Incarnation string
	// VouchedBy names the principals that vouched for this one: whoever granted it
	// tokens:admin, set its email or sent it an enrollment. None of them may have a
	// request approved by it unless it is a superuser (docs/permissions.md, "Four eyes").
	// It only grows.
	VouchedBy []string
}
