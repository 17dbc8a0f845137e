package email_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/boot"
	"tokengate/shared/email"
	"tokengate/shared/token"
)

var soon = time.Date(2026, 3, 8, 9, 30, 0, 0, time.UTC)

func alert(name string, at time.Time, days int) token.Alert {
	return token.Alert{Token: &token.Token{ID: "4Qm0bT0pXqvJ8dZk2r1W7e", Name: name, Hint: "tg_…9aQ3", ExpiresAt: at, OwnerID: "alice"}, DaysLeft: days}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name   string
		alerts []token.Alert
		want   string
	}{
		{"one token: its name and how soon", []token.Alert{alert("ci-deploy", soon, 2)}, "Action needed: API token “ci-deploy” expires in less than 2 days"},
		{"several: count and the nearest", []token.Alert{alert("a", soon, 1), alert("b", soon.Add(72*time.Hour), 4)},
			"Action needed: 2 API tokens expire soon, the first in less than 1 day"},
		{"a long name is cut", []token.Alert{alert(strings.Repeat("x", 100), soon, 7)}, "Action needed: API token “" + strings.Repeat("x", 60) + "…” expires in less than 7 days"},
		{"nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, email.Subject(tt.alerts))
		})
	}
}

func TestRender(t *testing.T) {
	evil := `<script>alert("x")</script> & co`
	const console = "https://tokens.example.com/console/"
	msg, err := email.Render([]token.Alert{alert(evil, soon, 3), alert("second", soon.Add(24*time.Hour), 4)}, console)
	require.NoError(t, err)

	require.NotContains(t, msg.HTML, "<script>", "names are escaped: a token name is text, never markup")
	require.Contains(t, msg.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co")
	require.Contains(t, msg.Text, evil, "plain text shows the name as it is")
	for _, body := range []string{msg.HTML, msg.Text} {
		require.Contains(t, body, "tg_…9aQ3")
		require.Contains(t, body, "4Qm0bT0pXqvJ8dZk2r1W7e")
		require.Contains(t, body, "Sun 8 Mar 2026, 09:30 UTC")
		require.Contains(t, body, "less than 3 days")
		require.Contains(t, body, console+"#/tokens/4Qm0bT0pXqvJ8dZk2r1W7e/security", "a link to the token's page in the console")
		require.Contains(t, body, "2 API tokens expire soon.")
		require.Contains(t, body, "rotate it before it expires", "what to do")
		require.Less(t, strings.Index(body, "less than 3 days"), strings.Index(body, "less than 4 days"), "in the order given: soonest first")
		for _, jargon := range []string{"POST /tokens", "TOKEN_EXPIRATION", "EXPIRY_NOTIFICATION_EMAILS", "CONSOLE_URL", "{id}"} {
			require.NotContains(t, body, jargon, "a notice speaks to token owners, not operators")
		}
	}
	require.Equal(t, 2, strings.Count(msg.HTML, ">Rotate this token</a>"), "a button per token")
	require.NotContains(t, msg.Text, "About:", "no description: no line for it")

	// What the token is for, and whose it is: a copy to EXPIRY_NOTIFICATION_EMAILS
	// lists several owners' tokens.
	described := alert("nightly-backup", soon, 3)
	described.Token.Description = `Backs up <orders> to the second region`
	described.Token.OwnerID = "bob"
	msg, err = email.Render([]token.Alert{alert("ci-deploy", soon, 2), described}, console)
	require.NoError(t, err)
	require.Contains(t, msg.Text, "  About:    Backs up <orders> to the second region\n")
	require.Contains(t, msg.HTML, "Backs up &lt;orders&gt; to the second region", "a description is text, never markup")
	require.Contains(t, msg.Text, "  Owner:    alice\n")
	require.Contains(t, msg.Text, "  Owner:    bob\n")
	require.Contains(t, msg.HTML, "Owner <strong>alice</strong>")
	require.Contains(t, msg.HTML, "Owner <strong>bob</strong>")
	for _, body := range []string{msg.HTML, msg.Text} {
		// A rotation that keeps the expiry does not stop the reminders: the notice says so.
		require.NotContains(t, body, "until each token is rotated")
		require.Contains(t, body, "a rotation that keeps the current expiry does not stop these notices")
	}

	plain, err := email.Render([]token.Alert{alert("a", soon, 3)}, "")
	require.NoError(t, err)
	require.NotContains(t, plain.HTML, "<a ", "no console: no links")
	require.Contains(t, plain.Text, "Rotate a token in the tokengate console")
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
			got, err := access.ParseAddressList(tt.in)
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
	m := &email.Mailer{Client: localtest.SES(t), From: "tokengate@example.com", ConsoleURL: "http://127.0.0.1:3000/console/"}
	to := localtest.Address("mailer")
	tok := localtest.NewToken(t, "owner", "<b>deploy</b>", time.Now().Add(36*time.Hour))
	require.NoError(t, m.Send(context.Background(), to, []token.Alert{{Token: tok, DaysLeft: 2}}))

	mails := localtest.Mails(t, to)
	require.Len(t, mails, 1)
	got := mails[0]
	require.Equal(t, "tokengate@example.com", got.From)
	require.Equal(t, []string{to}, got.To)
	require.Equal(t, "Action needed: API token “<b>deploy</b>” expires in less than 2 days", got.Subject)
	require.Contains(t, got.HTML, "&lt;b&gt;deploy&lt;/b&gt;")
	require.Contains(t, got.Text, "<b>deploy</b>")
	require.Contains(t, got.Text, tok.Hint)
	require.Contains(t, got.Text, "http://127.0.0.1:3000/console/#/tokens/"+string(tok.ID)+"/security")

	require.Error(t, m.Send(context.Background(), "not an address", []token.Alert{{Token: tok, DaysLeft: 2}}), "refused before SES is asked")
	require.NoError(t, m.Send(context.Background(), to, nil), "nothing to say: nothing sent")
	require.Len(t, localtest.Mails(t, to), 1)
}

// TestMailerConfigurationSet: with SES_CONFIGURATION_SET every message names the set on
// the wire (so SES reports its bounces and complaints), and the SES emulator takes it.
func TestMailerConfigurationSet(t *testing.T) {
	t.Parallel()
	var sent []string
	client := ses.NewFromConfig(localtest.Clients(t).AWS, func(o *ses.Options) {
		o.BaseEndpoint = boot.Endpoint("SES")
		o.HTTPClient = &http.Client{Transport: recordBodies(&sent, http.DefaultTransport)}
	})
	to := localtest.Address("configset")
	tok := localtest.NewToken(t, "owner", "deploy", time.Now().Add(36*time.Hour))
	m := &email.Mailer{Client: client, From: "tokengate@example.com", ConfigurationSet: "tokengate-mail"}
	require.NoError(t, m.Send(context.Background(), to, []token.Alert{{Token: tok, DaysLeft: 2}}))
	require.Len(t, sent, 1)
	require.Contains(t, sent[0], "ConfigurationSetName=tokengate-mail")
	require.Len(t, localtest.Mails(t, to), 1)

	sent = nil
	m.ConfigurationSet = ""
	require.NoError(t, m.Send(context.Background(), to, []token.Alert{{Token: tok, DaysLeft: 2}}))
	require.NotContains(t, sent[0], "ConfigurationSetName", "none given, none sent")
}

type bodyRecorder struct {
	sent *[]string
	next http.RoundTripper
}

func recordBodies(sent *[]string, next http.RoundTripper) http.RoundTripper {
	return bodyRecorder{sent, next}
}

func (b bodyRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))
	*b.sent = append(*b.sent, string(body))
	return b.next.RoundTrip(r)
}
