// Package notify emails expiry notices through Amazon SES: one message per recipient,
// in HTML and plain text, listing that recipient's expiring tokens. A notice names a
// token by its name, hint and id only; tokengate keeps no secret that could leak into it.
// Start at Mailer.
package email

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	texttemplate "text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// Mailer sends expiry notices from one sender address through SES (SendEmail, the v1
// API: the ses:SendEmail permission is all it needs).
type Mailer struct {
	Client     *ses.Client
	From       string
	ConsoleURL string // CONSOLE_URL, ending in "/": notices link each token's page there; "" for no links
	// ConfigurationSet is SES_CONFIGURATION_SET: every message is sent through it, so
	// SES reports its bounces and complaints (the template sends them to an SNS topic).
	// "" sends without one (the local stack).
	ConfigurationSet string
}

// NewMailer makes a Mailer on an SES client of cfg; endpoint overrides the SES endpoint
// when not nil (boot.Endpoint("SES")). Its SendEmail is never retried once it may have
// gone through (sendonce.go).
func NewMailer(cfg aws.Config, endpoint *string, from string) *Mailer {
	return &Mailer{Client: ses.NewFromConfig(cfg, func(o *ses.Options) { o.BaseEndpoint = endpoint }, withSendOnce), From: from}
}

// Send emails to one message listing alerts, soonest first as given. An empty list
// sends nothing; a malformed address is refused before SES is asked.
func (m *Mailer) Send(ctx context.Context, to string, alerts []token.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if _, err := access.ParseAddress(to); err != nil {
		return fmt.Errorf("send expiry notice: %w", err)
	}
	msg, err := Render(alerts, m.ConsoleURL)
	if err != nil {
		return err
	}
	if err := markMaybeSent(m.send(ctx, to, msg)); err != nil {
		return fmt.Errorf("send expiry notice to %s: %w", to, err)
	}
	return nil
}

// send sends one rendered message to one address, in HTML and plain text.
func (m *Mailer) send(ctx context.Context, to string, msg Message) error {
	utf8 := aws.String("UTF-8")
	var set *string
	if m.ConfigurationSet != "" {
		set = aws.String(m.ConfigurationSet)
	}
	_, err := m.Client.SendEmail(ctx, &ses.SendEmailInput{
		Source:               aws.String(m.From),
		ConfigurationSetName: set,
		Destination:          &types.Destination{ToAddresses: []string{to}},
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
// Owner is who owns it: a copy to EXPIRY_NOTIFICATION_EMAILS lists several people's
// tokens, and its reader must know whom to ask.
type item struct {
	Name, Description, Owner, Hint, ID, Expires, Left, Link string
}

// Render renders the notice of alerts, soonest first as given. consoleURL is the web
// console (CONSOLE_URL, ending in "/"); each token gets a button to its page there, or
// none when it is empty. Names go through html/template in the HTML part, so a token
// named "<script>" shows as text.
func Render(alerts []token.Alert, consoleURL string) (Message, error) {
	items := make([]item, len(alerts))
	for i, a := range alerts {
		items[i] = item{
			Name: a.Token.Name, Description: a.Token.Description, Owner: a.Token.OwnerID, Hint: a.Token.Hint, ID: string(a.Token.ID),
			Expires: formatTime(a.Token.ExpiresAt), Left: lessThan(a.DaysLeft),
		}
		if consoleURL != "" {
			items[i].Link = consoleURL + "#/tokens/" + url.PathEscape(string(a.Token.ID)) + "/security"
		}
	}
	data := struct {
		Subject, Intro string
		Items          []item
		Console        bool
	}{Subject(alerts), intro(len(alerts)), items, consoleURL != ""}
	var html, text bytes.Buffer
	if err := htmlBody.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("render notice html: %w", err)
	}
	if err := textBody.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render notice text: %w", err)
	}
	return Message{Subject: data.Subject, HTML: html.String(), Text: text.String()}, nil
}

// Subject names the token (or how many, and the first) and when it expires, so the inbox
// alone tells what and how urgent. alerts are soonest first.
func Subject(alerts []token.Alert) string {
	if len(alerts) == 0 {
		return ""
	}
	first := alerts[0]
	if len(alerts) == 1 {
		return fmt.Sprintf("Action needed: API token “%s” expires in %s", fault.Excerpt(first.Token.Name, 60), lessThan(first.DaysLeft))
	}
	return fmt.Sprintf("Action needed: %d API tokens expire soon, the first in %s", len(alerts), lessThan(first.DaysLeft))
}

func intro(n int) string {
	if n == 1 {
		return "An API token expires soon. Once it expires, every script, job or service that uses it is refused."
	}
	return fmt.Sprintf("%d API tokens expire soon. Once a token expires, every script, job or service that uses it is refused.", n)
}

// lessThan words days left the way the log line does: whole days, rounded up.
func lessThan(days int) string {
	if days <= 1 {
		return "less than 1 day"
	}
	return fmt.Sprintf("less than %d days", days)
}

func formatTime(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006, 15:04 UTC") }

// What the owner should do, in words a token owner knows: no API routes, no settings.
const (
	todo = `To keep a token working, rotate it before it expires and choose a new expiry: ` +
		`it keeps its name and id and gets a new secret, shown once. Put the new secret where the old one was used. ` +
		`A grace period of up to 24 hours keeps the old secret working while you switch over.`
	unused = `If you no longer need a token, do nothing: it stops working when it expires.`
	// A rotation that keeps the expiry leaves the token expiring when it did: the
	// reminders stop only once the expiry moves out of the window.
	why = `You receive this notice because you own these tokens or your address is on the list for expiry notices. ` +
		`You will be reminded until each token has a later expiry (rotate it and choose a new one; ` +
		`a rotation that keeps the current expiry does not stop these notices) or has expired.`
)

var textBody = texttemplate.Must(texttemplate.New("text").Parse(`{{.Subject}}

{{.Intro}}

` + todo + `
{{range .Items}}
{{.Name}}
{{- if .Description}}
  About:    {{.Description}}
{{- end}}
  Owner:    {{.Owner}}
  Expires:  {{.Expires}} (in {{.Left}})
  Token:    {{.Hint}}  (id {{.ID}})
{{- if .Link}}
  Rotate:   {{.Link}}
{{- end}}
{{end}}
{{- if not .Console}}
Rotate a token in the tokengate console, or ask whoever runs tokengate for you.
{{end}}
` + unused + `

--
` + why + `
`))

// htmlBody is one column, 600 px at most, with nothing wider than the screen: a phone
// or a narrow preview pane reads it without scrolling sideways. Inline styles only, as
// mail clients drop style sheets.
var htmlBody = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f6f8fa">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;background:#f6f8fa">
<tr><td align="center" style="padding:16px 8px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;max-width:560px;background:#ffffff;border:1px solid #d0d7de;border-radius:8px;font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1b1f24">
<tr><td style="padding:20px 20px 4px">
<p style="margin:0 0 4px;font-size:13px;color:#57606a">tokengate</p>
<h1 style="margin:0 0 12px;font-size:20px;line-height:1.3">{{.Subject}}</h1>
<p style="margin:0 0 12px">{{.Intro}}</p>
<p style="margin:0 0 4px">` + todo + `</p>
</td></tr>
{{- range .Items}}
<tr><td style="padding:12px 20px 0">
<div style="border:1px solid #d4a72c;background:#fff8e1;border-radius:6px;padding:12px 14px;word-wrap:break-word;overflow-wrap:anywhere">
<p style="margin:0 0 4px;font-size:16px;font-weight:600">{{.Name}}</p>
{{- if .Description}}
<p style="margin:0 0 4px;color:#1b1f24">{{.Description}}</p>
{{- end}}
<p style="margin:0 0 4px">Owner <strong>{{.Owner}}</strong></p>
<p style="margin:0 0 4px">Expires <strong>{{.Expires}}</strong> (in {{.Left}})</p>
<p style="margin:0 0 8px;font-size:13px;color:#57606a">Token <code>{{.Hint}}</code> · id <code style="word-break:break-all">{{.ID}}</code></p>
{{- if .Link}}
<a href="{{.Link}}" style="display:inline-block;background:#0b5cad;color:#ffffff;text-decoration:none;font-weight:600;padding:9px 16px;border-radius:6px">Rotate this token</a>
{{- end}}
</div>
</td></tr>
{{- end}}
<tr><td style="padding:16px 20px 20px">
{{- if not .Console}}
<p style="margin:0 0 12px">Rotate a token in the tokengate console, or ask whoever runs tokengate for you.</p>
{{- end}}
<p style="margin:0 0 12px">` + unused + `</p>
<p style="margin:0;font-size:13px;color:#57606a">` + why + `</p>
</td></tr>
</table>
</td></tr>
</table>
</body></html>
`))
