package token

import (
	"context"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// History returns a page of the change history of a token the caller may see, newest first.
func (s *Service) History(ctx context.Context, c access.Caller, id ID, limit int, cursor string) ([]*audit.Event, string, error) {
	if _, err := s.load(ctx, c, id, false); err != nil {
		return nil, "", err
	}
	return s.Store.Events(ctx, audit.Filter{TokenID: string(id), Limit: limit, Cursor: cursor})
}

// Audit returns a page of the whole activity log; it needs audit:read.
func (s *Service) Audit(ctx context.Context, c access.Caller, f audit.Filter) ([]*audit.Event, string, error) {
	if err := checkAudit(c, f); err != nil {
		return nil, "", err
	}
	return s.Store.Events(ctx, f)
}

// checkAudit decides whether the caller may read the activity log with filter f.
func checkAudit(c access.Caller, f audit.Filter) error {
	if !c.Has(access.AuditRead) {
		return &fault.ForbiddenError{Reason: "reading the activity log needs the audit:read scope"}
	}
	if f.TokenID != "" && !ValidID(string(f.TokenID)) {
		return fault.Invalid("tokenId", "is not a token id")
	}
	if f.ActorID != "" && !ValidOwnerID(f.ActorID) && !audit.SystemActor(f.ActorID) {
		return fault.Invalid("actor", "is not a principal id")
	}
	return nil
}
