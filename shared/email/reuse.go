package email

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// SendReuse emails the owner of a token that a secret rotated away from it was presented
// (expirynotice.ReuseMailer): when, from where, and what it did. The mail names the token
// by name, hint and id; it holds no secret.
func (m *Mailer) SendReuse(ctx context.Context, to string, a token.ReuseAlert) error {
	if _, err := access.ParseAddress(to); err != nil {
		return fmt.Errorf("send reuse notice: %w", err)
	}
	msg, err := RenderReuse(a, m.ConsoleURL)
	if err != nil {
		return err
	}
	if err := markMaybeSent(m.send(ctx, to, msg)); err != nil {
		return fmt.Errorf("send reuse notice to %s: %w", to, err)
	}
	return nil
}

type reuseData struct {
	Name, Description, Hint, ID, When, From, Link string
	Revoked                                       bool
}

var reuseHTML = htmltemplate.Must(htmltemplate.New("reuse").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; max-width: 600px">
<p>A secret of your API token <strong>{{.Name}}</strong> that was replaced by a rotation was used again on {{.When}}, from {{.From}}. It was refused.</p>
{{if .Description}}<p style="color: #555">{{.Description}}</p>{{end}}
<p>Token: <code>{{.Hint}}</code>, id <code>{{.ID}}</code></p>
{{if .Revoked}}<p><strong>The token has been revoked</strong>, as its setting "on reuse: revoke" asks, with the temporary tokens that depend on it. Create a new token to replace it.</p>
{{else}}<p>The token itself still works. If you did not expect an old secret in use, someone may hold a copy: revoke the token, or rotate it and find where the old secret is stored.</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}" style="display: inline-block; padding: 8px 14px; background: #1d4ed8; color: #fff; text-decoration: none; border-radius: 4px">Open the token</a></p>{{end}}
</body></html>
`))

// RenderReuse renders the mail about one reuse. consoleURL is the web console
// (CONSOLE_URL, ending in "/"); "" for no link.
func RenderReuse(a token.ReuseAlert, consoleURL string) (Message, error) {
	t := a.Token
	from := a.SourceIP
	if from == "" {
		from = "an unknown address"
	}
	d := reuseData{Name: t.Name, Description: t.Description, Hint: t.Hint, ID: string(t.ID), When: formatTime(a.DetectedAt), From: from, Revoked: a.Revoked}
	if consoleURL != "" {
		d.Link = consoleURL + "#/tokens/" + url.PathEscape(string(t.ID))
	}
	var html bytes.Buffer
	if err := reuseHTML.Execute(&html, d); err != nil {
		return Message{}, fmt.Errorf("render reuse notice: %w", err)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "A secret of your API token %q that was replaced by a rotation was used again on %s, from %s. It was refused.\n\n", t.Name, d.When, from)
	if t.Description != "" {
		fmt.Fprintf(&text, "%s\n\n", t.Description)
	}
	fmt.Fprintf(&text, "Token: %s, id %s\n\n", t.Hint, t.ID)
	if a.Revoked {
		text.WriteString("The token has been revoked, as its setting \"on reuse: revoke\" asks, with the temporary tokens that depend on it. Create a new token to replace it.\n")
	} else {
		text.WriteString("The token itself still works. If you did not expect an old secret in use, someone may hold a copy: revoke the token, or rotate it and find where the old secret is stored.\n")
	}
	if d.Link != "" {
		fmt.Fprintf(&text, "\nOpen the token: %s\n", d.Link)
	}
	subject := fmt.Sprintf("Security alert: an old secret of API token “%s” was used", fault.Excerpt(t.Name, 60))
	if a.Revoked {
		subject = fmt.Sprintf("Security alert: API token “%s” revoked after an old secret was used", fault.Excerpt(t.Name, 60))
	}
	return Message{Subject: subject, HTML: html.String(), Text: text.String()}, nil
}
