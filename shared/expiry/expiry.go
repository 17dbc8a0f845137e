// Package notifier is the expiry notifier: a run finds the active permanent tokens that
// expire within the window, logs the warning operators alert on, and mails each recipient
// one message. It claims each notice on its token before sending, so overlapping runs
// never send one twice. It sees neither DynamoDB nor SES: only the interfaces below.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// Tokens finds expiring tokens and claims their notices; shared/store.Table implements it.
type Tokens interface {
	token.ExpiryStore
	// ClaimNotice marks t's notice as sent at at, unless one was sent after since or t is
	// no longer an active permanent token expiring at t.ExpiresAt; ok reports whether
	// this call won, prev is the time it replaced (zero: never notified).
	ClaimNotice(ctx context.Context, t *token.Token, at, since time.Time) (prev time.Time, ok bool, err error)
	// ReleaseNotice puts back prev if the claim made at at still stands.
	ReleaseNotice(ctx context.Context, id token.ID, at, prev time.Time) error
}

// Mailer sends one recipient one message listing alerts; shared/email.Mailer implements it.
type Mailer interface {
	// Send returns an error wrapping ErrMaybeSent when the message may have gone out
	// all the same (sent, and the answer lost); any other error means it did not.
	Send(ctx context.Context, to string, alerts []token.Alert) error
}

// ErrMaybeSent: the mailer cannot tell whether the message went out. The notice is kept
// as sent rather than mailed again: a recipient gets it at most once per backoff, and
// if it was lost, again after the backoff.
var ErrMaybeSent = errors.New("the message may have been sent")

// Notifier is one configured expiry notifier. Runs may overlap, in one process or many.
type Notifier struct {
	Tokens     Tokens
	Principals access.Principals
	Mailer     Mailer
	// Window is TOKEN_EXPIRATION_DETECTION_WINDOW: how long before its expiry a token is announced.
	Window time.Duration
	// Backoff is TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL: the least time between two
	// notices of one token.
	Backoff time.Duration
	// Recipients are EXPIRY_NOTIFICATION_EMAILS: they get every token's notice.
	Recipients []string
	Now        func() time.Time
	Log        *slog.Logger // slog.Default() when nil
}

// Summary is what one run did; it is logged as one line at the end of the run.
type Summary struct {
	TokensRead  int           // tokens the index returned
	Notified    int           // notices this run claimed and logged
	Skipped     int           // notices not due: sent within the backoff, or claimed by an overlapping run
	EmailsSent  int           // messages SES accepted
	Failures    int           // claims, owner look-ups and messages that failed
	Unreadable  int           // stored token items that do not decode: skipped, each logged by id
	Unconfirmed int           // messages whose answer was lost: kept as sent, not mailed again before the backoff
	Duration    time.Duration // wall time of the run
}

// releaseTimeout bounds the releases at the end of a run, which go on after its context
// is cancelled.
const releaseTimeout = 5 * time.Second

// notice is a token whose notice this run claimed.
type notice struct {
	alert     token.Alert
	prev      time.Time // lastNotifiedAt before the claim
	delivered bool      // at least one message listing it was accepted
	mailed    bool      // it had at least one recipient
}

// Run does one pass: find, claim, log, mail, and release the claims of notices that no
// message carried, so the next run retries them. Only a failure to read the index fails
// the run; a bad token, address or message, or a stored item that does not decode, is
// counted, logged and passed over.
func (n *Notifier) Run(ctx context.Context) (Summary, error) {
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	now := n.Now().UTC().Truncate(time.Second)
	start := time.Now() // the summary's duration is wall time, whatever clock the run is given
	var sum Summary
	defer func() {
		sum.Duration = time.Since(start)
		log.InfoContext(ctx, "expiry notifier run",
			"tokensRead", sum.TokensRead, "notified", sum.Notified, "skipped", sum.Skipped,
			"emailsSent", sum.EmailsSent, "failures", sum.Failures, "unreadable", sum.Unreadable, "unconfirmed", sum.Unconfirmed, "durationMs", sum.Duration.Milliseconds())
	}()

	alerts, err := token.ExpiringWithin(ctx, n.Tokens, now, n.Window)
	var skipped *token.SkippedError
	switch {
	case errors.As(err, &skipped):
		sum.Unreadable = len(skipped.IDs) // each logged by id where it was read
	case err != nil:
		sum.Failures++
		return sum, fmt.Errorf("expiry notifier: %w", err)
	}
	sum.TokensRead = len(alerts)

	var notices []*notice
	since := now.Add(-n.Backoff)
	for _, a := range alerts {
		// The index carries lastNotifiedAt: a notice it shows as sent within the backoff
		// costs no write. The claim alone decides the others; the index may be stale.
		if a.Token.LastNotifiedAt.After(since) {
			sum.Skipped++
			continue
		}
		prev, ok, err := n.Tokens.ClaimNotice(ctx, a.Token, now, since)
		if err != nil {
			sum.Failures++
			log.ErrorContext(ctx, "expiry notice not claimed", "tokenId", a.Token.ID, "err", err)
			continue
		}
		if !ok {
			sum.Skipped++
			continue
		}
		sum.Notified++
		log.WarnContext(ctx, Warning(a), "tokenId", a.Token.ID, "ownerId", a.Token.OwnerID,
			"expiresAt", a.Token.ExpiresAt.Format(time.RFC3339))
		notices = append(notices, &notice{alert: a, prev: prev})
	}

	mailings, order := n.recipients(ctx, log, notices, &sum)
	for _, key := range order {
		m := mailings[key]
		alerts := make([]token.Alert, len(m.notices))
		for i, nt := range m.notices {
			alerts[i] = nt.alert
		}
		err := n.Mailer.Send(ctx, m.to, alerts)
		if errors.Is(err, ErrMaybeSent) {
			sum.Unconfirmed++
			log.WarnContext(ctx, "expiry notice email unconfirmed: kept as sent, not mailed again before the backoff", "to", m.to, "tokens", len(alerts), "err", err)
			for _, nt := range m.notices {
				nt.delivered = true
			}
			continue
		}
		if err != nil {
			sum.Failures++
			log.ErrorContext(ctx, "expiry notice email failed", "to", m.to, "tokens", len(alerts), "err", err)
			continue
		}
		sum.EmailsSent++
		for _, nt := range m.notices {
			nt.delivered = true
		}
	}

	// A notice no message carried is released for the next run. One that reached some
	// of its recipients is kept: retrying it would send the others a second copy, and a
	// recipient that failed gets the token again after the backoff. Releases outlive a
	// cancelled run (a Lambda deadline is the likely reason its messages failed).
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	for _, nt := range notices {
		if !nt.mailed || nt.delivered {
			continue
		}
		if err := n.Tokens.ReleaseNotice(release, nt.alert.Token.ID, now, nt.prev); err != nil {
			sum.Failures++
			log.ErrorContext(ctx, "expiry notice not released: retried after the backoff", "tokenId", nt.alert.Token.ID, "err", err)
		}
	}
	return sum, nil
}

// Warning is the log line of one notice, exactly as SPEC.md fixes it.
func Warning(a token.Alert) string {
	return fmt.Sprintf("Warn: API Token [%s] (ID [%s]) will expire in less than %d days.", a.Token.Name, a.Token.ID, a.DaysLeft)
}

// recipients groups the notices by address: each owner with an email address gets its
// own tokens, every configured address gets them all. Addresses are compared without
// case, so an owner who is also on the list gets one message. order is the order in which
// addresses first come up, so runs are reproducible.
func (n *Notifier) recipients(ctx context.Context, log *slog.Logger, notices []*notice, sum *Summary) (map[string]*mailing, []string) {
	by := map[string]*mailing{}
	var order []string
	owners := map[string]string{} // owner id -> email, "" when none
	for _, nt := range notices {
		owner := nt.alert.Token.OwnerID
		email, seen := owners[owner]
		if !seen {
			email = n.ownerEmail(ctx, log, owner, sum)
			owners[owner] = email
		}
		tos := n.Recipients
		if email != "" {
			tos = append(slices.Clip(tos), email)
		}
		for _, to := range tos {
			key := strings.ToLower(to)
			m := by[key]
			if m == nil {
				m = &mailing{to: to}
				by[key] = m
				order = append(order, key)
			}
			if k := len(m.notices); k > 0 && m.notices[k-1] == nt {
				continue // the owner is on the list too
			}
			m.notices = append(m.notices, nt)
			nt.mailed = true
		}
	}
	return by, order
}

// mailing is the message one recipient gets.
type mailing struct {
	to      string
	notices []*notice
}

// ownerEmail returns the owner's address, or "" (logged) when the owner is unknown or
// has none: its tokens still reach the configured addresses. A malformed address is the
// mailer's to refuse, like any other failed message.
func (n *Notifier) ownerEmail(ctx context.Context, log *slog.Logger, owner string, sum *Summary) string {
	p, err := n.Principals.GetPrincipal(ctx, owner)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		log.InfoContext(ctx, "expiry notice: owner is not a known principal, not emailed", "ownerId", owner)
		return ""
	case err != nil:
		sum.Failures++
		log.ErrorContext(ctx, "expiry notice: owner look-up failed, not emailed", "ownerId", owner, "err", err)
		return ""
	case p.Email == "":
		log.InfoContext(ctx, "expiry notice: owner has no email address, not emailed", "ownerId", owner)
		return ""
	}
	return p.Email
}
