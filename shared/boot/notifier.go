package boot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"tokengate/shared/notifier"
	"tokengate/shared/store"
)

// NotifierSettings are the expiry notifier's own settings. The detection window is
// Settings.Policy.DetectionWindow, shared with GET /alerts.
type NotifierSettings struct {
	Backoff    time.Duration // TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL
	Recipients []string      // EXPIRY_NOTIFICATION_EMAILS, semicolon-separated
	Sender     string        // NOTIFICATION_SENDER
	ConsoleURL string        // CONSOLE_URL: the web console, for the links in notices; "" for none
}

// LoadNotifierSettings reads NotifierSettings from getenv (os.Getenv when nil) and
// reports every bad one at once.
func LoadNotifierSettings(getenv func(string) string) (NotifierSettings, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var (
		s    NotifierSettings
		errs []error
		err  error
	)
	backoff := strings.TrimSpace(getenv("TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL"))
	if backoff == "" {
		backoff = "24h"
	}
	if s.Backoff, err = time.ParseDuration(backoff); err != nil || s.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL=%q is not a positive duration such as 24h", backoff))
	}
	if s.Recipients, err = notifier.ParseAddressList(getenv("EXPIRY_NOTIFICATION_EMAILS")); err != nil {
		errs = append(errs, fmt.Errorf("EXPIRY_NOTIFICATION_EMAILS (addresses separated by semicolons): %w", err))
	}
	if sender := strings.TrimSpace(getenv("NOTIFICATION_SENDER")); sender == "" {
		errs = append(errs, errors.New("NOTIFICATION_SENDER is required: the address expiry notices come from, verified in SES"))
	} else if s.Sender, err = notifier.ParseAddress(sender); err != nil {
		errs = append(errs, fmt.Errorf("NOTIFICATION_SENDER: %w", err))
	}
	if s.ConsoleURL, err = consoleURL(getenv("CONSOLE_URL")); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return NotifierSettings{}, fmt.Errorf("settings: %w", err)
	}
	return s, nil
}

// consoleURL checks CONSOLE_URL: empty, or an absolute http(s) URL without a query or
// fragment, returned ending in "/" so that "#/tokens/<id>" can follow it.
func consoleURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("CONSOLE_URL=%q is not an http(s) address such as https://api.example.com/console/", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// MailerFunc makes the notifier's mailer on an AWS configuration (notify.NewMailer),
// linking notices to the console at consoleURL. It is passed in, so that package boot,
// linked into every function, does not link SES.
type MailerFunc func(cfg aws.Config, endpoint *string, from, consoleURL string) notifier.Mailer

// Notifier builds the expiry notifier from getenv (os.Getenv when nil): the table and
// SES, but no KMS: the notifier never needs the pepper, so its role cannot use it.
func Notifier(ctx context.Context, getenv func(string) string, mailer MailerFunc) (*notifier.Notifier, error) {
	s, err := LoadSettings(getenv)
	ns, nerr := LoadNotifierSettings(getenv)
	if err := errors.Join(err, nerr); err != nil {
		return nil, err
	}
	c, err := NewClients(ctx)
	if err != nil {
		return nil, err
	}
	tb := &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
	return &notifier.Notifier{
		Tokens: tb, Principals: tb,
		Mailer:     mailer(c.AWS, Endpoint("SES"), ns.Sender, ns.ConsoleURL),
		Window:     s.Policy.DetectionWindow,
		Backoff:    ns.Backoff,
		Recipients: ns.Recipients,
		Now:        time.Now,
	}, nil
}

// ServeNotifier is the whole main of the notifier function, which EventBridge invokes on
// its schedule. The event carries nothing the run needs. A run that cannot read the
// index returns its error, so Lambda retries it; failed messages are released for the
// next run instead.
func ServeNotifier(mailer MailerFunc) {
	Logger()
	n, err := Notifier(context.Background(), nil, mailer)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	ColdStart()
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error {
		_, err := n.Run(ctx)
		return err
	})
}
