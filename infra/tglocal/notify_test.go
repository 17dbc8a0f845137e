package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		expr    string
		want    time.Duration
		wantErr bool
	}{
		{"rate(1 hour)", time.Hour, false},
		{"rate(30 minutes)", 30 * time.Minute, false},
		{"rate(1 minute)", time.Minute, false},
		{"rate(2 days)", 48 * time.Hour, false},
		{"rate( 5 minutes )", 5 * time.Minute, false},
		// EventBridge refuses these, so the local gateway does too.
		{"rate(1 hours)", 0, true},
		{"rate(2 hour)", 0, true},
		{"rate(0 minutes)", 0, true},
		{"rate(-1 minutes)", 0, true},
		{"rate(1.5 hours)", 0, true},
		{"rate(1 week)", 0, true},
		{"rate(99999999999999999999 days)", 0, true},
		{"rate(9999999 days)", 0, true},
		// Cron is not run locally.
		{"cron(0 3 * * ? *)", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := parseRate(tt.expr)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestTemplateSchedulesTheNotifier: the local gateway can run the template's schedule,
// every TOKEN_EXPIRATION_NOTIFIER_INTERVAL (1h by default).
func TestTemplateSchedulesTheNotifier(t *testing.T) {
	var found bool
	for _, s := range localtest.Template(t).Schedules {
		if s.Function != notifierFunction {
			continue
		}
		found = true
		require.True(t, s.Enabled)
		d, err := parseRate(s.Expression)
		require.NoError(t, err)
		require.Equal(t, time.Hour, d)
	}
	require.True(t, found, "template.yaml schedules %s", notifierFunction)
}

func TestEvery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan struct{})
	done := make(chan struct{})
	go func() {
		every(ctx, time.Millisecond, func(context.Context) { runs <- struct{}{} })
		close(done)
	}()
	for range 3 {
		select {
		case <-runs:
		case <-time.After(10 * time.Second):
			t.Fatal("no run within 10s")
		}
	}
	cancel()
	for {
		select {
		case <-runs: // a tick that raced the cancel
		case <-done:
			return
		case <-time.After(10 * time.Second):
			t.Fatal("every did not stop with its context")
		}
	}
}

// TestNotifyOnce is `make notify`: one run against the stack named by the state's env file.
func TestNotifyOnce(t *testing.T) {
	tb := localtest.Table(t)
	localtest.SES(t)
	ctx := context.Background()
	addr := localtest.Address("owner")
	require.NoError(t, tb.PutPrincipal(ctx, &access.Principal{ID: "owner", Email: addr, Version: 1}, 0))
	tok := localtest.PutToken(t, tb, localtest.NewToken(t, "owner", "nightly", time.Now().Add(50*time.Hour)))

	// The process environment comes first: the test's own settings are cleared.
	for _, k := range []string{"TABLE_NAME", "KMS_KEY_ID", "TOKEN_EXPIRATION_DETECTION_WINDOW", "TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL", "EXPIRY_NOTIFICATION_EMAILS"} {
		t.Setenv(k, "")
		require.NoError(t, os.Unsetenv(k))
	}
	t.Setenv("NOTIFICATION_SENDER", "")
	state := t.TempDir()
	require.NoError(t, writeEnv(filepath.Join(state, "env"), map[string]string{"TABLE_NAME": tb.Name, "KMS_KEY_ID": "not-used-by-the-notifier"}))

	require.NoError(t, notifyOnce(ctx, state, "../../template.yaml"))
	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Equal(t, localSender, mails[0].From, "the template has no sender default; the local stack stands one in")
	require.Contains(t, mails[0].Text, string(tok.ID))
	tmpl, env, err := localSetup(state, "../../template.yaml")
	require.NoError(t, err)
	require.Equal(t, tmpl.Parameters["TokenExpirationDetectionWindow"], env.Getenv("TOKEN_EXPIRATION_DETECTION_WINDOW"), "the template's default")
	require.Empty(t, os.Getenv("TOKEN_EXPIRATION_DETECTION_WINDOW"), "nothing written to the process environment")

	require.NoError(t, notifyOnce(ctx, state, "../../template.yaml"))
	require.Len(t, localtest.Mails(t, addr), 1, "the backoff holds across runs")
}
