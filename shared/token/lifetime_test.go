package token_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/fault"
	"tokengate/shared/token"
)

func TestExpiresAt(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	policy := token.Policy{MaxLifetime: 8760 * time.Hour}
	unlimited := token.Policy{}
	short := token.Policy{MaxLifetime: 30 * 24 * time.Hour}
	tests := []struct {
		name, in string
		policy   token.Policy
		want     time.Time
		wantErr  bool
	}{
		{"one week", "1w", policy, now.AddDate(0, 0, 7), false},
		{"one month", "1m", policy, now.AddDate(0, 1, 0), false},
		{"three months", "3m", policy, now.AddDate(0, 3, 0), false},
		{"six months", "6m", policy, now.AddDate(0, 6, 0), false},
		{"one year is allowed by the default policy, leap day included", "1y", policy, now.AddDate(1, 0, 0), false},
		{"never is refused while a maximum lifetime is set", "never", policy, time.Time{}, true},
		{"never is allowed when the lifetime is unlimited", "never", unlimited, time.Time{}, false},
		{"a preset beyond a short maximum", "3m", short, time.Time{}, true},
		{"unknown unit", "2d", policy, time.Time{}, true},
		{"empty", "", policy, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.ExpiresAt(tt.in, now, tt.policy)
			if tt.wantErr {
				require.Error(t, err)
				var inv *fault.InvalidError
				require.ErrorAs(t, err, &inv)
				require.Equal(t, "expiresIn", inv.Fields[0].Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDefaultExpiry(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p := token.DefaultPolicy()
	require.Equal(t, now.AddDate(1, 0, 0), token.DefaultExpiry(token.TypePermanent, now, p))
	require.Equal(t, now.Add(time.Hour), token.DefaultExpiry(token.TypeTemporary, now, p))
	p.MaxLifetime = 48 * time.Hour
	require.Equal(t, now.Add(48*time.Hour), token.DefaultExpiry(token.TypePermanent, now, p), "capped by the maximum lifetime")
}

func TestPolicyValidate(t *testing.T) {
	p := token.DefaultPolicy()
	require.NoError(t, p.Validate())
	p.TemporaryTTL = 25 * time.Hour
	require.Error(t, p.Validate(), "temporary tokens live at most 24h")
	p.TemporaryTTL = 0
	require.Error(t, p.Validate())
}

func TestEffectiveStatus(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	tok := &token.Token{Status: token.StatusActive, ExpiresAt: now}
	require.Equal(t, token.StatusExpired, tok.EffectiveStatus(now), "expiry is exclusive: at ExpiresAt the token is expired")
	require.Equal(t, token.StatusActive, tok.EffectiveStatus(now.Add(-time.Second)))
	tok.Status = token.StatusRevoked
	require.Equal(t, token.StatusRevoked, tok.EffectiveStatus(now.Add(time.Hour)))
	never := &token.Token{Status: token.StatusActive}
	require.Equal(t, token.StatusActive, never.EffectiveStatus(now.AddDate(100, 0, 0)))
}
