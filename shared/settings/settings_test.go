package settings_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/settings"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

var root = access.Caller{TokenID: "root-token", OwnerID: "root", Scopes: []string{access.TokensAdmin}}

func ptr[T any](v T) *T { return &v }

// A change made through one process reaches another within its read interval (a
// minute), and not before: each process reads the settings item at most once a minute.
func TestSettingsReachAnotherProcessWithinAMinute(t *testing.T) {
	tb := localtest.Table(t)
	localtest.SeedPrincipals(t, tb)
	counted, reads := localtest.Counted(t, tb)
	clock := localtest.NewClock(time.Now())
	defaults := settings.Values{DetectionWindow: 168 * time.Hour, Backoff: 24 * time.Hour, TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour}
	other := &settings.Source{Store: counted, Defaults: defaults, Now: clock.Now}
	ctx := context.Background()
	v, err := other.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, 168*time.Hour, v.DetectionWindow)

	one := &settings.Service{Source: &settings.Source{Store: tb, Defaults: defaults, Now: clock.Now}, Principals: tb, Now: clock.Now}
	_, err = one.Update(ctx, root, settings.Patch{DetectionWindow: ptr("72h"), Reason: "three days"}, nil)
	require.NoError(t, err)

	for range 10 {
		v, err = other.Current(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, 168*time.Hour, v.DetectionWindow, "within the minute the other process keeps what it read")
	require.EqualValues(t, 1, reads.Reads.Load(), "one read a minute, however many asks")
	clock.Add(settings.ReadEvery)
	v, err = other.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, 72*time.Hour, v.DetectionWindow, "a minute later it has the change")
	require.EqualValues(t, 2, reads.Reads.Load())

	// The token service's policy follows: the detection window of the alerts.
	p, err := other.Policy(ctx, token.DefaultPolicy())
	require.NoError(t, err)
	require.Equal(t, 72*time.Hour, p.DetectionWindow)
	require.Equal(t, token.DefaultPolicy().MaxLifetime, p.MaxLifetime, "what the settings do not hold is the deployment's")
}

// A failed read is an error for whoever asked, never the defaults: they may be looser
// than what a superuser set.
func TestSettingsUnreadableIsAnError(t *testing.T) {
	tb := localtest.Table(t)
	gone := &store.Table{Client: tb.Client, Name: tb.Name + "-missing"}
	src := &settings.Source{Store: gone, Defaults: settings.Values{TemporaryTTL: time.Hour}}
	_, err := src.Current(context.Background())
	require.Error(t, err)
	svc := &token.Service{Store: tb, Principals: tb, Policy: token.DefaultPolicy(), Settings: src, Now: time.Now}
	_, err = svc.EffectivePolicy(context.Background())
	require.Error(t, err)
}

func TestApply(t *testing.T) {
	d := settings.Values{DetectionWindow: 168 * time.Hour, Backoff: 24 * time.Hour, Recipients: []string{"ops@example.com"}, TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour}
	for _, c := range []struct {
		name string
		st   settings.Stored
		want settings.Values
	}{
		{"nothing stored: the defaults", settings.Stored{}, d},
		{"a stored field wins", settings.Stored{Backoff: ptr(time.Hour)},
			settings.Values{DetectionWindow: 168 * time.Hour, Backoff: time.Hour, Recipients: []string{"ops@example.com"}, TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour}},
		{"an empty list is no recipient", settings.Stored{Recipients: &[]string{}},
			settings.Values{DetectionWindow: 168 * time.Hour, Backoff: 24 * time.Hour, Recipients: []string{}, TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour}},
		{"a TTL above a lifetime lowered since is cut to it", settings.Stored{TemporaryTTL: ptr(10 * time.Hour), MaxTemporaryLifetime: ptr(2 * time.Hour)},
			settings.Values{DetectionWindow: 168 * time.Hour, Backoff: 24 * time.Hour, Recipients: []string{"ops@example.com"}, TemporaryTTL: 2 * time.Hour, MaxTemporaryLifetime: 2 * time.Hour}},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, c.st.Apply(d))
		})
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[time.Duration]string{168 * time.Hour: "168h", 90 * time.Minute: "1h30m", time.Minute: "1m", 30 * time.Second: "30s", time.Hour + time.Second: "1h0m1s"} {
		require.Equal(t, want, settings.Short(in), in.String())
	}
}
