package boot

import (
	"context"
	"errors"
	"time"

	"tokengate/shared/email"
	"tokengate/shared/expiry"
)

// Notifier builds the expiry notifier from getenv: the table and SES, but no KMS: the
// notifier never needs the pepper, so its role cannot use it.
func Notifier(_ context.Context, getenv func(string) string) (*expiry.Notifier, error) {
	s, err := LoadSettings(getenv)
	var sender string
	if err == nil {
		sender, err = s.sender()
	} else if s.Sender == "" && getenv != nil && getenv("NOTIFICATION_SENDER") == "" {
		_, serr := Settings{}.sender()
		err = errors.Join(err, serr) // every bad setting at once
	}
	if err != nil {
		return nil, err
	}
	c, err := NewClients(s)
	if err != nil {
		return nil, err
	}
	tb := NewTable(s, c)
	mailer := email.NewMailer(c.AWS, c.Endpoints.Endpoint("SES"), sender)
	mailer.ConsoleURL = s.ConsoleURL
	return &expiry.Notifier{
		Tokens: tb, Principals: tb, Mailer: mailer,
		Window:     s.Policy.DetectionWindow,
		Backoff:    s.Backoff,
		Recipients: s.Recipients,
		Now:        time.Now,
	}, nil
}
