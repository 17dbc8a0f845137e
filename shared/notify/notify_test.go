package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/notifier"
	"tokengate/shared/notify"
	"tokengate/shared/token"
)

var expiry = time.Date(2026, 3, 8, 9, 30, 0, 0, time.UTC)

func alert(name string, at time.Time, days int) token.Alert {
	return token.Alert{Token: &token.Token{ID: "4Qm0bT0pXqvJ8dZk2r1W7e", Name: name, Hint: "tg_…9aQ3", ExpiresAt: at}, DaysLeft: days}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name   string
		alerts []token.Alert
		want   string
	}{
		{"one token", []token.Alert{alert("a", expiry, 2)}, "tokengate: 1 API token expires in less than 2 days (2026-03-08 09:30 UTC)"},
		{"several: count and the nearest", []token.Alert{alert("a", expiry, 1), alert("b", expiry.Add(72*time.Hour), 4)},
			"tokengate: 2 API tokens expire soon, the first in less than 1 day (2026-03-08 09:30 UTC)"},
		{"a day is singular", []token.Alert{alert("a", expiry, 1)}, "tokengate: 1 API token expires in less than 1 day (2026-03-08 09:30 UTC)"},
		{"times are UTC", []token.Alert{alert("a", expiry.In(time.FixedZone("CET", 3600)), 7)}, "tokengate: 1 API token expires in less than 7 days (2026-03-08 09:30 UTC)"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, notify.Subject(tt.alerts))
		})
	}
}

func TestRender(t *testing.T) {
	evil := `<script>alert("x")</script> & co`
	msg, err := notify.Render([]token.Alert{alert(evil, expiry, 3), alert("second", expiry.Add(24*time.Hour), 4)})
	require.NoError(t, err)

	require.NotContains(t, msg.HTML, "<script>", "names are escaped: a token name is text, never markup")
	require.Contains(t, msg.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co")
	require.Contains(t, msg.Text, evil, "plain text shows the name as it is")
	for _, body := range []string{msg.HTML, msg.Text} {
		require.Contains(t, body, "tg_…9aQ3")
		require.Contains(t, body, "4Qm0bT0pXqvJ8dZk2r1W7e")
		require.Contains(t, body, "2026-03-08 09:30 UTC")
		require.Contains(t, body, "less than 3 days")
		require.Contains(t, body, "POST /tokens/4Qm0bT0pXqvJ8dZk2r1W7e/rotate")
		require.Contains(t, body, "2 API tokens expire soon.")
		require.Less(t, strings.Index(body, "less than 3 days"), strings.Index(body, "less than 4 days"), "in the order given: soonest first")
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"empty", "", nil, ""},
		{"one", "ops@example.com", []string{"ops@example.com"}, ""},
		{"semicolons, spaces and a trailing separator", " ops@example.com ;sec@example.org; ", []string{"ops@example.com", "sec@example.org"}, ""},
		{"repeats without case are dropped", "ops@example.com;OPS@example.com", []string{"ops@example.com"}, ""},
		{"commas are not separators", "ops@example.com,sec@example.org", nil, `"ops@example.com,sec@example.org"`},
		{"a display name is refused", "Ops <ops@example.com>", nil, `"Ops <ops@example.com>"`},
		{"every bad one is named", "nope;ops@example.com;also bad", nil, `"also bad"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := notifier.ParseAddressList(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestMailer sends through the SES emulator and reads the message back.
func TestMailer(t *testing.T) {
	t.Parallel()
	m := &notify.Mailer{Client: localtest.SES(t), From: "tokengate@example.com"}
	to := localtest.Address("mailer")
	tok := localtest.NewToken(t, "owner", "<b>deploy</b>", time.Now().Add(36*time.Hour))
	require.NoError(t, m.Send(context.Background(), to, []token.Alert{{Token: tok, DaysLeft: 2}}))

	mails := localtest.Mails(t, to)
	require.Len(t, mails, 1)
	got := mails[0]
	require.Equal(t, "tokengate@example.com", got.From)
	require.Equal(t, []string{to}, got.To)
	require.Contains(t, got.Subject, "1 API token expires in less than 2 days")
	require.Contains(t, got.HTML, "&lt;b&gt;deploy&lt;/b&gt;")
	require.Contains(t, got.Text, "<b>deploy</b>")
	require.Contains(t, got.Text, tok.Hint)
	require.Contains(t, got.Text, "POST /tokens/"+string(tok.ID)+"/rotate")

	require.Error(t, m.Send(context.Background(), "not an address", []token.Alert{{Token: tok, DaysLeft: 2}}), "refused before SES is asked")
	require.NoError(t, m.Send(context.Background(), to, nil), "nothing to say: nothing sent")
	require.Len(t, localtest.Mails(t, to), 1)
}
