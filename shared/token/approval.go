package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// Approvals: four eyes on high-risk tokens (a second admin, never the requester or a
// vouchee, decides), and the refusal of personal authority to delegated tokens.

// Approvals returns a page of the tokens awaiting approval; it needs tokens:admin.
func (s *Service) Approvals(ctx context.Context, c access.Caller, limit int, cursor string) ([]*Token, string, error) {
	if !c.Has(access.TokensAdmin) {
		return nil, "", &fault.ForbiddenError{Reason: "the approval queue needs the tokens:admin scope"}
	}
	return s.Store.Pending(ctx, limit, cursor)
}

// Approve lets a pending high-risk token take effect, with the secret given at creation.
// It needs tokens:admin, and the requester (the principal whose call created the token)
// can never approve its own.
func (s *Service) Approve(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	return s.decide(ctx, c, id, reason, audit.EventApprove)
}

// Reject refuses a pending token for good.
func (s *Service) Reject(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	return s.decide(ctx, c, id, reason, audit.EventReject)
}

func (s *Service) decide(ctx context.Context, c access.Caller, id ID, reason string, typ audit.EventType) (*Token, error) {
	if err := mayDecide(c, reason, typ); err != nil {
		return nil, err
	}
	t, err := s.load(ctx, c, id, true)
	if err != nil {
		return nil, err
	}
	if err := notRequester(c, t, typ); err != nil {
		return nil, err
	}
	approver, err := s.Principals.GetPrincipal(ctx, c.OwnerID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, fmt.Errorf("%s %s: approver: %w", typ, id, err)
	}
	if err := notVouchee(c, approver, t, typ); err != nil {
		return nil, err
	}
	return s.apply(ctx, c, t, 0, op{typ: typ, reason: reason}, decisionEdit(typ))
}

// mayDecide decides, before any read, whether the caller may approve or reject (typ)
// tokens: it needs tokens:admin, a valid reason and its own personal authority.
func mayDecide(c access.Caller, reason string, typ audit.EventType) error {
	if !c.Has(access.TokensAdmin) {
		return &fault.ForbiddenError{Reason: "approving tokens needs the tokens:admin scope"}
	}
	if err := checkOptionalReason(reason); err != nil {
		return err
	}
	if c.Delegated() {
		return DelegatedError(c, string(typ)+" tokens")
	}
	return nil
}

// notRequester refuses a decision on t by its requester: neither the owner nor the
// minter of the requested token (nor the principal whose call created it) may decide
// on it.
func notRequester(c access.Caller, t *Token, typ audit.EventType) error {
	if c.OwnerID == t.OwnerID || c.OwnerID == t.Minter() || c.OwnerID == t.CreatedBy {
		return &fault.ForbiddenError{Reason: "the owner or the requester of a token cannot " + string(typ) + " it: another admin must, with a token of their own"}
	}
	return nil
}

// notVouchee refuses a decision on t by an approver (c's principal as read now; nil: gone)
// that is no superuser and for which the token's owner, minter or creator vouched:
// granted it tokens:admin, set its email or sent it an enrollment (access.Principal
// VouchedBy). Four eyes means two people, and an approval power or credential that came
// from the requester may be the requester's second identity. Superusers, who could grant
// approval power anyway, are trusted.
func notVouchee(c access.Caller, approver *access.Principal, t *Token, typ audit.EventType) error {
	if approver == nil {
		return &fault.ForbiddenError{Reason: fmt.Sprintf("the principal %s that this token belongs to no longer exists", c.OwnerID)}
	}
	if approver.Superuser {
		return nil
	}
	for _, who := range []string{t.CreatedBy, t.Minter(), t.OwnerID} {
		if slices.Contains(approver.VouchedBy, who) {
			return &fault.ForbiddenError{Reason: fmt.Sprintf("%s vouched for you (granted you tokens:admin, set your email or sent your enrollment), so you cannot %s its request: another admin, or a superuser, must", who, typ)}
		}
	}
	return nil
}

// decisionEdit approves (EventApprove) or rejects a pending token.
func decisionEdit(typ audit.EventType) edit {
	return func(t *Token, now time.Time) (bool, error) {
		if st := t.EffectiveStatus(now); st != StatusPending {
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s, not pending", st)}
		}
		if typ == audit.EventApprove {
			t.Status = StatusActive
		} else {
			t.Status, t.EndedAt = StatusRejected, now
		}
		return true, nil
	}
}

// DelegatedError refuses personal authority (what) to a delegated token, naming its
// minter and owner.
func DelegatedError(c access.Caller, what string) error {
	return &fault.ForbiddenError{Reason: fmt.Sprintf("authority is personal: this token was minted by %s for %s, and a delegated token cannot %s; use a token of your own", c.Minter(), c.OwnerID, what)}
}
