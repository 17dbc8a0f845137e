package boot_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/shared/boot"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// mail is the part of Settings the mail senders read.
type mail struct {
	Backoff    time.Duration
	Recipients []string
	Sender     string
	ConsoleURL string
}

func TestMailSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    mail
		wantErr []string // every one of these is named
	}{
		{"defaults", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com"},
			mail{Backoff: 24 * time.Hour, Sender: "tokengate@example.com"}, nil},
		{"everything set", map[string]string{
			"NOTIFICATION_SENDER": "tokengate@example.com", "TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL": "12h",
			"EXPIRY_NOTIFICATION_EMAILS": "ops@example.com; sec@example.org",
		}, mail{Backoff: 12 * time.Hour, Recipients: []string{"ops@example.com", "sec@example.org"}, Sender: "tokengate@example.com"}, nil},
		{"no sender: required only where mail is sent", map[string]string{}, mail{Backoff: 24 * time.Hour}, nil},
		{"bad sender", map[string]string{"NOTIFICATION_SENDER": "tokengate"}, mail{}, []string{"NOTIFICATION_SENDER", `"tokengate"`}},
		{"bad addresses, all named at once", map[string]string{
			"NOTIFICATION_SENDER": "tokengate@example.com", "EXPIRY_NOTIFICATION_EMAILS": "ops@example.com;nope;x@",
		}, mail{}, []string{"EXPIRY_NOTIFICATION_EMAILS", `"nope"`, `"x@"`}},
		{"backoff of zero", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL": "0s"},
			mail{}, []string{"TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL"}},
		{"backoff not a duration", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL": "1 day"},
			mail{}, []string{"TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL", "24h"}},
		// CONSOLE_URL: where notices link; it ends in "/" so "#/tokens/<id>" can follow.
		{"console address gets its slash", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "CONSOLE_URL": "https://api.example.com/Prod/console"},
			mail{Backoff: 24 * time.Hour, Sender: "tokengate@example.com", ConsoleURL: "https://api.example.com/Prod/console/"}, nil},
		{"console address kept", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "CONSOLE_URL": "http://127.0.0.1:3000/console/"},
			mail{Backoff: 24 * time.Hour, Sender: "tokengate@example.com", ConsoleURL: "http://127.0.0.1:3000/console/"}, nil},
		{"console address must be http(s)", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "CONSOLE_URL": "javascript:alert(1)"},
			mail{}, []string{"CONSOLE_URL"}},
		{"console address must be absolute", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "CONSOLE_URL": "/console/"},
			mail{}, []string{"CONSOLE_URL"}},
		{"console address has no fragment", map[string]string{"NOTIFICATION_SENDER": "tokengate@example.com", "CONSOLE_URL": "https://x.example/console/#/a"},
			mail{}, []string{"CONSOLE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["TABLE_NAME"], tt.env["KMS_KEY_ID"] = "t", "k"
			s, err := boot.LoadSettings(env(tt.env))
			got := mail{s.Backoff, s.Recipients, s.Sender, s.ConsoleURL}
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, s := range tt.wantErr {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDetectionWindowSetting(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "KMS_KEY_ID": "k"}
	s, err := boot.LoadSettings(env(base))
	require.NoError(t, err)
	require.Equal(t, 168*time.Hour, s.Policy.DetectionWindow, "default")

	base["TOKEN_EXPIRATION_DETECTION_WINDOW"] = "72h"
	s, err = boot.LoadSettings(env(base))
	require.NoError(t, err)
	require.Equal(t, 72*time.Hour, s.Policy.DetectionWindow)

	for _, bad := range []string{"0", "a week", "9000h"} {
		base["TOKEN_EXPIRATION_DETECTION_WINDOW"] = bad
		_, err = boot.LoadSettings(env(base))
		require.ErrorContains(t, err, "TOKEN_EXPIRATION_DETECTION_WINDOW", bad)
	}
}

func TestNotifierFailsStartOnBadSettings(t *testing.T) {
	_, err := boot.Notifier(context.Background(), env(map[string]string{"TABLE_NAME": "t", "KMS_KEY_ID": "k", "EXPIRY_NOTIFICATION_EMAILS": "nope"}))
	require.ErrorContains(t, err, "NOTIFICATION_SENDER is required")
	require.ErrorContains(t, err, "EXPIRY_NOTIFICATION_EMAILS", "every bad setting at once")
}

// TestNotifierSampleEvent: events/notifier.json is what EventBridge sends on schedule.
func TestNotifierSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/notifier.json")
	require.NoError(t, err)
	var ev events.EventBridgeEvent
	require.NoError(t, json.Unmarshal(raw, &ev))
	require.Equal(t, "Scheduled Event", ev.DetailType)
	require.Equal(t, "aws.events", ev.Source)
}
