package token

import (
	"fmt"
	"time"

	"tokengate/shared/fault"
)

// Policy is the settings that bound token lifetimes.
type Policy struct {
	// MaxLifetime is the longest a token may live; 0 means unlimited and allows "never".
	MaxLifetime time.Duration
	// TemporaryTTL is the lifetime of a temporary token created without an expiry.
	TemporaryTTL time.Duration
	// MaxTemporaryLifetime is the longest a temporary token may live after its creation
	// or a rotation (MAX_TEMPORARY_TOKEN_LIFETIME, default 12h); 0 means DefaultMaxTemporaryLifetime.
	MaxTemporaryLifetime time.Duration
	// PermanentAdminOnly makes creating permanent tokens need tokens:admin.
	PermanentAdminOnly bool
	// Retention is how long revoked and expired tokens stay visible.
	Retention time.Duration
	// DetectionWindow is how long before its expiry a token is announced: by the expiry
	// notifier and in GET /alerts (TOKEN_EXPIRATION_DETECTION_WINDOW).
	DetectionWindow time.Duration
}

// DefaultPolicy is the policy of SPEC.md's defaults.
func DefaultPolicy() Policy {
	return Policy{
		MaxLifetime: 8760 * time.Hour, TemporaryTTL: time.Hour, PermanentAdminOnly: true, Retention: 30 * 24 * time.Hour,
		DetectionWindow: DefaultDetectionWindow, MaxTemporaryLifetime: DefaultMaxTemporaryLifetime,
	}
}

// DefaultMaxTemporaryLifetime is MAX_TEMPORARY_TOKEN_LIFETIME's default.
const DefaultMaxTemporaryLifetime = 12 * time.Hour

func (p Policy) maxTemporary() time.Duration {
	if p.MaxTemporaryLifetime <= 0 {
		return DefaultMaxTemporaryLifetime
	}
	return p.MaxTemporaryLifetime
}

// checkTemporary refuses a temporary token's expiry more than MaxTemporaryLifetime
// after now, and "never": temporary means temporary, whoever asks.
func checkTemporary(field string, at, now time.Time, p Policy) error {
	limit := p.maxTemporary()
	if at.IsZero() || at.Sub(now) > limit {
		return fault.Invalid(field, fmt.Sprintf("a temporary token lives at most %s (MAX_TEMPORARY_TOKEN_LIFETIME); choose an earlier expiry or a permanent token", limit))
	}
	return nil
}

// MaxTemporaryTTL caps TEMPORARY_TOKEN_TTL.
const MaxTemporaryTTL = 24 * time.Hour

// Validate checks the policy settings themselves.
func (p Policy) Validate() error {
	if p.MaxLifetime < 0 {
		return fmt.Errorf("MAX_TOKEN_LIFETIME must not be negative")
	}
	if p.TemporaryTTL <= 0 || p.TemporaryTTL > MaxTemporaryTTL {
		return fmt.Errorf("TEMPORARY_TOKEN_TTL must be more than 0 and at most 24h, got %s", p.TemporaryTTL)
	}
	if p.MaxTemporaryLifetime < 0 || p.MaxTemporaryLifetime > MaxTemporaryTTL {
		return fmt.Errorf("MAX_TEMPORARY_TOKEN_LIFETIME must be more than 0 and at most 24h, got %s", p.MaxTemporaryLifetime)
	}
	if p.TemporaryTTL > p.maxTemporary() {
		return fmt.Errorf("TEMPORARY_TOKEN_TTL (%s) must not exceed MAX_TEMPORARY_TOKEN_LIFETIME (%s)", p.TemporaryTTL, p.maxTemporary())
	}
	if p.Retention < 0 {
		return fmt.Errorf("RETENTION_AFTER_END must not be negative")
	}
	if p.DetectionWindow <= 0 || p.DetectionWindow > MaxDetectionWindow {
		return fmt.Errorf("TOKEN_EXPIRATION_DETECTION_WINDOW must be more than 0 and at most 8784h (366 days), got %s", p.DetectionWindow)
	}
	return nil
}

// Presets of expiresIn.
var presets = map[string]func(time.Time) time.Time{
	"1w": func(t time.Time) time.Time { return t.AddDate(0, 0, 7) },
	"1m": func(t time.Time) time.Time { return t.AddDate(0, 1, 0) },
	"3m": func(t time.Time) time.Time { return t.AddDate(0, 3, 0) },
	"6m": func(t time.Time) time.Time { return t.AddDate(0, 6, 0) },
	"1y": func(t time.Time) time.Time { return t.AddDate(1, 0, 0) },
}

// ExpiresAt turns an expiresIn preset ("1w", "1m", "3m", "6m", "1y", "never") into an
// expiry time; zero means never. The result must fit the policy's maximum lifetime.
func ExpiresAt(in string, now time.Time, p Policy) (time.Time, error) {
	if in == "never" {
		if p.MaxLifetime != 0 {
			return time.Time{}, fault.Invalid("expiresIn", fmt.Sprintf("never is not allowed: tokens may live at most %s", formatLifetime(p.MaxLifetime)))
		}
		return time.Time{}, nil
	}
	f, ok := presets[in]
	if !ok {
		return time.Time{}, fault.Invalid("expiresIn", "must be one of 1w, 1m, 3m, 6m, 1y, never")
	}
	at := f(now)
	if err := checkLifetime("expiresIn", at, now, p); err != nil {
		return time.Time{}, err
	}
	return at, nil
}

// checkLifetime refuses expiries past the maximum lifetime. One year is always within the
// default 8760h, whatever the calendar: "1y" means up to 366 days in a leap year, so the
// maximum is compared with a day of slack when it is at least a year.
func checkLifetime(field string, at, now time.Time, p Policy) error {
	if !at.After(now) {
		return fault.Invalid(field, "must be in the future")
	}
	if limit := p.latestExpiry(now); !limit.IsZero() && at.After(limit) {
		return fault.Invalid(field, fmt.Sprintf("must be within the maximum token lifetime of %s", formatLifetime(p.MaxLifetime)))
	}
	return nil
}

// DefaultExpiry is the expiry of a token created without one: one year for permanent
// tokens (capped by the maximum lifetime), TemporaryTTL for temporary ones.
func DefaultExpiry(typ Type, now time.Time, p Policy) time.Time {
	if typ == TypeTemporary {
		return now.Add(p.TemporaryTTL)
	}
	at := now.AddDate(1, 0, 0)
	if limit := p.latestExpiry(now); !limit.IsZero() && at.After(limit) {
		at = limit
	}
	return at
}

// latestExpiry is the latest expiry the policy allows for a token made at now; zero when
// unlimited. A maximum of a year or more gets a day of slack so that "1y" fits in a leap
// year too.
func (p Policy) latestExpiry(now time.Time) time.Time {
	if p.MaxLifetime == 0 {
		return time.Time{}
	}
	limit := now.Add(p.MaxLifetime)
	if p.MaxLifetime >= 8760*time.Hour {
		limit = limit.Add(24 * time.Hour)
	}
	return limit
}

func formatLifetime(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}
