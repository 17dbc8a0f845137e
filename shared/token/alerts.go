package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
)

// DefaultDetectionWindow is TOKEN_EXPIRATION_DETECTION_WINDOW's default: tokens expiring
// within a week are announced.
const DefaultDetectionWindow = 168 * time.Hour

// MaxDetectionWindow bounds the window: a run queries one byExpiry partition per day of
// it, so a window of years would make every run and every GET /alerts hundreds of queries.
const MaxDetectionWindow = 366 * 24 * time.Hour

// Alert is a token that expires within the detection window. Only active permanent
// tokens get alerts: temporary tokens are meant to expire within hours, and ended or
// disabled ones will not be used anyway.
type Alert struct {
	Token    *Token
	DaysLeft int
}

// DaysLeft is the whole number of days from now until at, rounded up, as the expiry
// warning says it ("will expire in less than 2 days" for 36h left). A token with no
// time left has 0.
func DaysLeft(at, now time.Time) int {
	left := at.Sub(now)
	if left <= 0 {
		return 0
	}
	const day = 24 * time.Hour
	return int((left + day - 1) / day)
}

// ExpiryStore finds tokens by expiry. shared/store implements it with the sparse byExpiry
// index, so the cost of a lookup grows with the tokens expiring, not with the table.
type ExpiryStore interface {
	// Expiring returns the active permanent tokens with after < ExpiresAt <= until,
	// soonest first. Stored items that do not decode are skipped: it then returns the
	// others with a *SkippedError naming them.
	Expiring(ctx context.Context, after, until time.Time) ([]*Token, error)
}

// ExpiringWithin returns the alerts of the active permanent tokens that expire after now
// and at most window later, soonest first. The index behind es is eventually consistent,
// so every token is checked again here. When stored items were skipped it returns the
// alerts of the others and the *SkippedError, for the caller to count.
func ExpiringWithin(ctx context.Context, es ExpiryStore, now time.Time, window time.Duration) ([]Alert, error) {
	until := now.Add(window)
	toks, err := es.Expiring(ctx, now, until)
	var skipped *SkippedError
	if err != nil && !errors.As(err, &skipped) {
		return nil, fmt.Errorf("find tokens expiring by %s: %w", until.Format(time.RFC3339), err)
	}
	if skipped != nil {
		return alertsOf(toks, now, until), skipped
	}
	return alertsOf(toks, now, until), nil
}

// alertsOf keeps the tokens that still deserve an alert at now: active, permanent and
// expiring by until.
func alertsOf(toks []*Token, now, until time.Time) []Alert {
	alerts := make([]Alert, 0, len(toks))
	for _, t := range toks {
		if t.Type != TypePermanent || t.EffectiveStatus(now) != StatusActive || t.ExpiresAt.After(until) {
			continue
		}
		alerts = append(alerts, Alert{Token: t, DaysLeft: DaysLeft(t.ExpiresAt, now)})
	}
	return alerts
}

// Alerts returns the tokens the caller may see that expire within the policy's
// detection window, with the days each has left, soonest first: its own tokens, or every
// principal's with tokens:admin. The lookup reads the whole window's expiring tokens and
// keeps the caller's, so without tokens:admin it costs as much as with it; that is
// bounded by the tokens expiring within the window, never the size of the table.
func (s *Service) Alerts(ctx context.Context, c access.Caller) ([]Alert, error) {
	if !canRead(c) {
		return nil, &fault.ForbiddenError{Reason: "reading alerts needs the tokens:read scope"}
	}
	p, err := s.EffectivePolicy(ctx)
	if err != nil {
		return nil, err
	}
	all, err := ExpiringWithin(ctx, s.Store, s.now(), p.detectionWindow())
	var skipped *SkippedError // logged by id where read; the listing shows the others
	if err != nil && !errors.As(err, &skipped) {
		return nil, fmt.Errorf("alerts for %s: %w", c.OwnerID, err)
	}
	return visibleAlerts(c, all), nil
}

// detectionWindow is the policy's window, DefaultDetectionWindow when unset.
func (p Policy) detectionWindow() time.Duration {
	if p.DetectionWindow <= 0 {
		return DefaultDetectionWindow
	}
	return p.DetectionWindow
}

// visibleAlerts keeps the alerts the caller may see: its own tokens', or all with
// tokens:admin.
func visibleAlerts(c access.Caller, all []Alert) []Alert {
	if c.Has(access.TokensAdmin) {
		return all
	}
	own := make([]Alert, 0, len(all))
	for _, a := range all {
		if a.Token.OwnerID == c.OwnerID {
			own = append(own, a)
		}
	}
	return own
}
