package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// Emergency access: break-glass lifting of a token's IP allowlist and time window, by
// a superuser acting through its own token, for one to eight hours.

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
