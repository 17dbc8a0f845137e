package email

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"

	"tokengate/shared/access"
	"tokengate/shared/principal"
)

var _ principal.EnrollMailer = (*Mailer)(nil)

// SendEnrollment mails a principal its one-time enrollment secret. This mail is the only
// place the secret ever appears: the admin who asked for it sees only where it went.
func (m *Mailer) SendEnrollment(ctx context.Context, to string, e principal.EnrollmentMail) error {
	if _, err := access.ParseAddress(to); err != nil {
		return fmt.Errorf("send enrollment: %w", err)
	}
	data := struct {
		principal.EnrollmentMail
		Expires string
	}{e, formatTime(e.ExpiresAt)}
	var html, text bytes.Buffer
	if err := enrollHTML.Execute(&html, data); err != nil {
		return fmt.Errorf("render enrollment html: %w", err)
	}
	if err := enrollText.Execute(&text, data); err != nil {
		return fmt.Errorf("render enrollment text: %w", err)
	}
	msg := Message{Subject: "tokengate: your enrollment as " + e.PrincipalID, HTML: html.String(), Text: text.String()}
	if err := m.send(ctx, to, msg); err != nil {
		return fmt.Errorf("send enrollment to %s: %w", to, err)
	}
	return nil
}

const enrollBody = `Hello {{.Name}},

an admin of tokengate created your principal "{{.PrincipalID}}". To get your first API
token, exchange this one-time enrollment token before {{.Expires}}:

    {{.Secret}}

    curl -X POST "$API/enroll" -H 'Content-Type: application/json' \
         -d '{"enrollmentToken": "{{.Secret}}"}'

The answer holds your token, minted by you: keep it secret. The enrollment token works
once; nobody else has seen it. If you did not expect this mail, ignore it.
`

var (
	enrollText = texttemplate.Must(texttemplate.New("enroll").Parse(enrollBody))
	enrollHTML = htmltemplate.Must(htmltemplate.New("enroll").Parse(`<p>Hello {{.Name}},</p>
<p>an admin of tokengate created your principal <code>{{.PrincipalID}}</code>. To get your first API token,
exchange this one-time enrollment token before {{.Expires}}:</p>
<pre>{{.Secret}}</pre>
<pre>curl -X POST "$API/enroll" -H 'Content-Type: application/json' -d '{"enrollmentToken": "{{.Secret}}"}'</pre>
<p>The answer holds your token, minted by you: keep it secret. The enrollment token works once; nobody else has seen it.
If you did not expect this mail, ignore it.</p>
`))
)
