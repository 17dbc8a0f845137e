// Package notify emails expiry notices through Amazon SES: one message per recipient,
// in HTML and plain text, listing that recipient's expiring tokens. A notice names a
// token by its name, hint and id only; tokengate keeps no secret that could leak into it.
// Start at Mailer.
package notify

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"tokengate/shared/notifier"
	"tokengate/shared/token"
)

// Mailer sends expiry notices from one sender address through SES (SendEmail, the v1
// API: the ses:SendEmail permission is all it needs).
type Mailer struct {
	Client *ses.Client
	From   string
}

// NewMailer makes a Mailer on an SES client of cfg; endpoint overrides the SES endpoint
// when not nil (boot.Endpoint("SES")).
func NewMailer(cfg aws.Config, endpoint *string, from string) *Mailer {
	return &Mailer{Client: ses.NewFromConfig(cfg, func(o *ses.Options) { o.BaseEndpoint = endpoint }), From: from}
}

// Send emails to one message listing alerts, soonest first as given. An empty list
// sends nothing; a malformed address is refused before SES is asked.
func (m *Mailer) Send(ctx context.Context, to string, alerts []token.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if _, err := notifier.ParseAddress(to); err != nil {
		return fmt.Errorf("send expiry notice: %w", err)
	}
	msg, err := Render(alerts)
	if err != nil {
		return err
	}
	if err := m.send(ctx, to, msg); err != nil {
		return fmt.Errorf("send expiry notice to %s: %w", to, err)
	}
	return nil
}

// send sends one rendered message to one address, in HTML and plain text.
func (m *Mailer) send(ctx context.Context, to string, msg Message) error {
	utf8 := aws.String("UTF-8")
	_, err := m.Client.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String(m.From),
		Destination: &types.Destination{ToAddresses: []string{to}},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String(msg.Subject), Charset: utf8},
			Body: &types.Body{
				Html: &types.Content{Data: aws.String(msg.HTML), Charset: utf8},
				Text: &types.Content{Data: aws.String(msg.Text), Charset: utf8},
			},
		},
	})
	return err
}

// Message is a rendered notice.
type Message struct {
	Subject string
	HTML    string
	Text    string
}

// item is what a notice shows of one token: nothing that is not already in a listing.
type item struct {
	Name, Hint, ID, Expires, Left string
}

// Render renders the notice of alerts. Names go through html/template in the HTML
// part, so a token named "<script>" shows as text.
func Render(alerts []token.Alert) (Message, error) {
	items := make([]item, len(alerts))
	for i, a := range alerts {
		items[i] = item{
			Name: a.Token.Name, Hint: a.Token.Hint, ID: string(a.Token.ID),
			Expires: formatTime(a.Token.ExpiresAt), Left: lessThan(a.DaysLeft),
		}
	}
	data := struct {
		Intro string
		Items []item
	}{intro(len(alerts)), items}
	var html, text bytes.Buffer
	if err := htmlBody.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("render notice html: %w", err)
	}
	if err := textBody.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render notice text: %w", err)
	}
	return Message{Subject: Subject(alerts), HTML: html.String(), Text: text.String()}, nil
}

// Subject says how many tokens a notice lists and when the first of them expires, so
// the inbox alone tells how urgent it is. alerts are soonest first.
func Subject(alerts []token.Alert) string {
	if len(alerts) == 0 {
		return ""
	}
	first := alerts[0]
	when := fmt.Sprintf("in %s (%s)", lessThan(first.DaysLeft), formatTime(first.Token.ExpiresAt))
	if len(alerts) == 1 {
		return "tokengate: 1 API token expires " + when
	}
	return fmt.Sprintf("tokengate: %d API tokens expire soon, the first %s", len(alerts), when)
}

func intro(n int) string {
	if n == 1 {
		return "One API token expires soon."
	}
	return fmt.Sprintf("%d API tokens expire soon.", n)
}

// lessThan words days left the way the log line does: whole days, rounded up.
func lessThan(days int) string {
	if days <= 1 {
		return "less than 1 day"
	}
	return fmt.Sprintf("less than %d days", days)
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

const rotateHelp = `Rotate each token before it expires: POST /tokens/{id}/rotate with {"expiresIn": "1y"} returns a new secret ` +
	`under the same id with a new expiry (add "gracePeriod", up to 24h, to keep the old secret working while clients switch over). ` +
	`Then hand the new secret to the clients that use the token.`

const footer = `You receive this notice because you own these tokens or your address is in EXPIRY_NOTIFICATION_EMAILS. ` +
	`It is sent at most once per token every TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL.`

var textBody = texttemplate.Must(texttemplate.New("text").Parse(`{{.Intro}}

` + rotateHelp + `
{{range .Items}}
Token:    {{.Name}}
Hint:     {{.Hint}}
ID:       {{.ID}}
Expires:  {{.Expires}} (in {{.Left}})
Rotate:   POST /tokens/{{.ID}}/rotate
{{end}}
--
` + footer + `
`))

var htmlBody = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>tokengate: API tokens expire soon</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p><strong>{{.Intro}}</strong></p>
<p>` + rotateHelp + `</p>
<table cellpadding="6" style="border-collapse: collapse">
<thead><tr style="text-align: left; border-bottom: 1px solid #999"><th>Token</th><th>Hint</th><th>ID</th><th>Expires</th><th>Rotate</th></tr></thead>
<tbody>
{{- range .Items}}
<tr style="border-bottom: 1px solid #ddd"><td>{{.Name}}</td><td><code>{{.Hint}}</code></td><td><code>{{.ID}}</code></td><td>{{.Expires}}<br>in {{.Left}}</td><td><code>POST /tokens/{{.ID}}/rotate</code></td></tr>
{{- end}}
</tbody>
</table>
<p style="color: #666; font-size: smaller">` + footer + `</p>
</body></html>
`))
