package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strings"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// LeakNotices tells owners that tokens of theirs were reported as leaked and revoked:
// one message per owner, listing name, hint and id (never more of a token).
type LeakNotices struct {
	Mailer     *Mailer
	Principals access.Principals
}

// NotifyLeaked emails the owner of each revoked token. An owner without an address is
// logged and skipped; one failure does not stop the others.
func (n *LeakNotices) NotifyLeaked(ctx context.Context, revoked []*token.Token) error {
	byOwner := map[string][]*token.Token{}
	var owners []string
	for _, t := range revoked {
		if byOwner[t.OwnerID] == nil {
			owners = append(owners, t.OwnerID)
		}
		byOwner[t.OwnerID] = append(byOwner[t.OwnerID], t)
	}
	var errs []error
	for _, owner := range owners {
		p, err := n.Principals.GetPrincipal(ctx, owner)
		if errors.Is(err, fault.ErrNotFound) || (err == nil && p.Email == "") {
			slog.WarnContext(ctx, "leaked-token notice not sent: owner has no address", "ownerId", owner)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("leak notice for %s: %w", owner, err))
			continue
		}
		msg, err := RenderLeaked(byOwner[owner])
		if err == nil {
			err = n.Mailer.send(ctx, p.Email, msg)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("leak notice to %s: %w", p.Email, err))
		}
	}
	return errors.Join(errs...)
}

var leakedHTML = htmltemplate.Must(htmltemplate.New("leaked").Parse(`<!doctype html>
<html><body style="font-family: sans-serif">
<p>{{len .}} of your API tokens {{if eq (len .) 1}}was{{else}}were{{end}} reported as leaked and {{if eq (len .) 1}}has{{else}}have{{end}} been revoked. Requests made with {{if eq (len .) 1}}it{{else}}them{{end}} now fail.</p>
<ul>{{range .}}<li>{{.Name}} (<code>{{.Hint}}</code>, id <code>{{.ID}}</code>)</li>{{end}}</ul>
<p>Create a new token to replace each one (POST /tokens), and check where the old one was stored or shared.</p>
</body></html>
`))

// RenderLeaked renders the leak notice for one owner's revoked tokens.
func RenderLeaked(ts []*token.Token) (Message, error) {
	var html bytes.Buffer
	if err := leakedHTML.Execute(&html, ts); err != nil {
		return Message{}, fmt.Errorf("render leak notice: %w", err)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "%d of your API tokens reported as leaked %s been revoked. Requests made with them now fail.\n\n", len(ts), map[bool]string{true: "has", false: "have"}[len(ts) == 1])
	for _, t := range ts {
		fmt.Fprintf(&text, "- %s (%s, id %s)\n", t.Name, t.Hint, t.ID)
	}
	text.WriteString("\nCreate a new token to replace each one (POST /tokens), and check where the old one was stored or shared.\n")
	subject := fmt.Sprintf("tokengate: %d leaked API token(s) revoked", len(ts))
	return Message{Subject: subject, HTML: html.String(), Text: text.String()}, nil
}
