package boot

import (
	"context"
	"errors"
	"strings"
	"time"

	"tokengate/shared/expirynotice"
)

// Notifier builds the expiry notifier from getenv: the table and SES, but no KMS: the
// notifier never needs the pepper, so its role cannot use it.
func Notifier(_ context.Context, getenv func(string) string) (*expirynotice.Notifier, error) {
	s, err := LoadSettings(getenv)
	if s.Sender == "" && (getenv == nil || strings.TrimSpace(getenv("NOTIFICATION_SENDER")) == "") {
		err = errors.Join(err, errNoSender) // with every other bad setting, at once
	}
	if err != nil {
		return nil, err
	}
	c, err := NewClients(s)
	if err != nil {
		return nil, err
	}
	tb := NewTable(s, c)
	mailer := newMailer(s, c)
	return &expirynotice.Notifier{
		Tokens: tb, Principals: tb, Mailer: mailer,
		Window:     s.Policy.DetectionWindow,
		Backoff:    s.Backoff,
		Recipients: s.Recipients,
		// What a superuser set at run time (PATCH /settings), over the three above.
		Settings: RuntimeSettings(s, tb),
		// Reuses of rotated-away secrets the authorizer recorded: mailed to the owner.
		Reuses: tb, ReuseMailer: mailer,
		Now: time.Now,
	}, nil
}
