package token_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/token"
)

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		left time.Duration
		want int
	}{
		// Whole days rounded up: the warning says "in less than X days".
		{"one second", time.Second, 1},
		{"half a day", 12 * time.Hour, 1},
		{"exactly one day", day, 1},
		{"a day and a second", day + time.Second, 2},
		{"a day and a half", 36 * time.Hour, 2},
		{"six days and 23 hours", 6*day + 23*time.Hour, 7},
		{"exactly the default window", 7 * day, 7},
		{"a nanosecond over six days", 6*day + time.Nanosecond, 7},
		// Nothing left.
		{"expires now", 0, 0},
		{"expired an hour ago", -time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, token.DaysLeft(now.Add(tt.left), now))
		})
	}
}

func TestPolicyDetectionWindow(t *testing.T) {
	p := token.DefaultPolicy()
	require.Equal(t, 168*time.Hour, p.DetectionWindow)
	p.DetectionWindow = 0
	require.Error(t, p.Validate(), "a window of nothing announces nothing")
	p.DetectionWindow = token.MaxDetectionWindow
	require.NoError(t, p.Validate())
	p.DetectionWindow = token.MaxDetectionWindow + time.Hour
	require.Error(t, p.Validate(), "one Query per day of the window: keep it bounded")
}
