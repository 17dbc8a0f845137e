package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
	if f.ActorID != "" && !ValidOwnerID(f.ActorID) && f.ActorID != audit.LeakReporter {
		return fault.Invalid("actor", "is not a principal id")
	}
	return nil
}

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

// Emergency access lasts from one to eight hours.
const (
	MinEmergency = time.Hour
	MaxEmergency = 8 * time.Hour
)

// EmergencyOn turns on break-glass access for a token: for d, its IP allowlist and time
// window are lifted (never its rate limit or scopes). Only a superuser holding
// emergency:activate may, and only with a reason.
func (s *Service) EmergencyOn(ctx context.Context, c access.Caller, id ID, d time.Duration, reason string) (*Token, error) {
	if err := checkEmergency(d, reason); err != nil {
		return nil, err
	}
	t, err := s.breakGlass(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, c, t, 0, op{typ: audit.EventEmergencyOn, reason: reason, extra: []audit.Change{{Field: "duration", To: d.String()}}}, emergencyOnEdit(d))
}

// checkEmergency validates a request for emergency access: 1h to 8h, with a reason.
func checkEmergency(d time.Duration, reason string) error {
	bad := &fault.InvalidError{}
	if d < MinEmergency || d > MaxEmergency {
		bad.Add("duration", "must be from 1h to 8h")
	}
	if strings.TrimSpace(reason) == "" {
		bad.Add("reason", "is required to turn on emergency access")
	} else {
		checkReason(bad, reason, access.RiskLow)
	}
	return bad.Err()
}

// emergencyOnEdit turns on emergency access for d from now, for an active token only.
func emergencyOnEdit(d time.Duration) edit {
	return func(t *Token, now time.Time) (bool, error) {
		if t.EffectiveStatus(now) != StatusActive {
			return false, &fault.StateError{Reason: fmt.Sprintf("the token is %s; emergency access applies to active tokens", t.EffectiveStatus(now))}
		}
		t.EmergencyUntil = now.Add(d)
		return true, nil
	}
}

// EmergencyOff ends break-glass access at once; restrictions apply again.
func (s *Service) EmergencyOff(ctx context.Context, c access.Caller, id ID, reason string) (*Token, error) {
	if err := checkOptionalReason(reason); err != nil {
		return nil, err
	}
	t, err := s.breakGlass(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return s.apply(ctx, c, t, 0, op{typ: audit.EventEmergencyOff, reason: reason}, emergencyOffEdit)
}

// emergencyOffEdit ends emergency access; a token without it changes nothing.
func emergencyOffEdit(t *Token, now time.Time) (bool, error) {
	if !t.EmergencyActive(now) {
		return false, nil
	}
	t.EmergencyUntil = time.Time{}
	return true, nil
}

// breakGlass loads a token for an emergency change: the caller must see it, hold
// emergency:activate, and be a superuser now.
func (s *Service) breakGlass(ctx context.Context, c access.Caller, id ID) (*Token, error) {
	if err := mayBreakGlass(c); err != nil {
		return nil, err
	}
	t, err := s.load(ctx, c, id, false)
	if err != nil {
		return nil, err
	}
	p, err := s.Principals.GetPrincipal(ctx, c.OwnerID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, fmt.Errorf("emergency %s: caller: %w", id, err)
	}
	if err := superuser(p); err != nil {
		return nil, err
	}
	return t, nil
}

// mayBreakGlass decides, before any read, whether the caller may turn emergency access
// on or off: it needs emergency:activate and its own personal authority.
func mayBreakGlass(c access.Caller) error {
	if !c.Has(access.EmergencyActivate) {
		return &fault.ForbiddenError{Reason: "emergency access needs the emergency:activate scope"}
	}
	if c.Delegated() {
		return DelegatedError(c, "turn emergency access on or off")
	}
	return nil
}

// superuser refuses emergency access to a caller whose principal (as read now; nil: gone)
// is no superuser.
func superuser(p *access.Principal) error {
	if p == nil || !p.Superuser {
		return &fault.ForbiddenError{Reason: "only a superuser may turn emergency access on or off"}
	}
	return nil
}

// MaxLeakReport bounds the token strings of one leaked-token report.
const MaxLeakReport = 100

// ReportLeaked revokes every valid token among strs, recording each revocation with the
// actor LeakReporter. It returns the tokens it revoked, so their owners can be told.
// Strings that are not tokens, unknown, already ended or with a wrong secret are
// skipped silently: the reporter learns nothing from the answer. A string whose tag does
// not verify was not made by tokengate and costs no read.
func (s *Service) ReportLeaked(ctx context.Context, strs []string) ([]*Token, error) {
	leaked, err := parseLeaked(s.Keys, s.Prefix, strs)
	if err != nil {
		return nil, err
	}
	reporter := access.Caller{OwnerID: audit.LeakReporter}
	var revoked []*Token
	var errs []error
	for _, p := range leaked {
		t, err := s.Store.Get(ctx, p.ID)
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("leaked %s: %w", p.ID, err))
			continue
		}
		if !leakRevocable(t, s.Keys, p.Secret, s.now()) {
			continue
		}
		t, err = s.apply(ctx, reporter, t, 0, op{typ: audit.EventLeakedRevoke, reason: "reported as leaked"}, revokeEdit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		revoked = append(revoked, t)
	}
	return revoked, errors.Join(errs...)
}

// parseLeaked reads a leaked-token report: 1 to MaxLeakReport strings, of which it keeps
// those made by tokengate (their tag verifies), once per id. The rest cost no read.
func parseLeaked(k *Keyring, prefix string, strs []string) ([]Presented, error) {
	if len(strs) == 0 {
		return nil, fault.Invalid("tokens", "give at least one token string")
	}
	if len(strs) > MaxLeakReport {
		return nil, fault.Invalid("tokens", fmt.Sprintf("at most %d token strings per report", MaxLeakReport))
	}
	seen := map[ID]bool{}
	var out []Presented
	for _, str := range strs {
		p, err := k.Parse(prefix, strings.TrimSpace(str))
		if err != nil || seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		out = append(out, p)
	}
	return out, nil
}

// leakRevocable reports whether a report's secret revokes t: it must be t's secret (or
// its previous one within a grace period), and t not ended already.
func leakRevocable(t *Token, k *Keyring, secret Secret, now time.Time) bool {
	return t.Verify(k, secret, now) && !t.Ended(now)
}
