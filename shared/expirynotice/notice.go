// Package expirynotice is the expiry notifier: a run finds the active permanent tokens that
// expire within the window, logs the warning operators alert on, and mails each recipient
// one message. It claims each notice on its token before sending, so overlapping runs
// never send one twice. It sees neither DynamoDB nor SES: only the interfaces below.
package expirynotice

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
	"tokengate/shared/settings"
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
	// Settings, when set, gives Window, Backoff and Recipients as a superuser set them
	// at run time (shared/settings; the fields above are then its defaults). A run whose
	// read of them fails sends nothing and fails: the next run tries again.
	Settings *settings.Source
	// Reuses and ReuseMailer, when both set, mail owners the reuses of rotated-away
	// secrets the authorizer recorded (reuse.go).
	Reuses      ReuseTokens
	ReuseMailer ReuseMailer
	Now         func() time.Time
	Log         *slog.Logger // slog.Default() when nil
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
	ReuseMails  int           // mails about reuses of rotated-away secrets that SES accepted
	Duration    time.Duration // wall time of the run
}

// releaseTimeout bounds the releases at the end of a run, which go on after its context
// is cancelled.
const releaseTimeout = 5 * time.Second

// notice is a token whose notice this run claimed.
type notice struct {
	alert     token.Alert
	prev      time.Time // lastNotifiedAt before the claim
	delivered bool      // at least one message listing it was accepted, or may have been
	// addressed: some message was meant to carry it (it had a recipient, or its owner's
	// address could not be read). A notice meant for nobody stays claimed: the warning
	// line was its notice.
	addressed bool
}

// A run reads, decides and writes in turn: the index (found), which notices to claim
// (due), the claims, the owners' addresses (ownersOf, addressOf), who gets which
// notices (mailingsOf), the messages (delivered), and which claims to hand back
// (unsent). The decisions are pure and tested as tables (decide_test.go); Run only
// reads, writes, logs and counts.

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
			"emailsSent", sum.EmailsSent, "failures", sum.Failures, "unreadable", sum.Unreadable, "unconfirmed", sum.Unconfirmed, "reuseMails", sum.ReuseMails, "durationMs", sum.Duration.Milliseconds())
	}()

	window, backoff, recipients := n.Window, n.Backoff, n.Recipients
	if n.Settings != nil {
		v, err := n.Settings.Current(ctx)
		if err != nil {
			sum.Failures++
			return sum, fmt.Errorf("expiry notifier: %w", err)
		}
		window, backoff, recipients = v.DetectionWindow, v.Backoff, v.Recipients
	}
	alerts, err := token.ExpiringWithin(ctx, n.Tokens, now, window)
	if err := found(&sum, alerts, err); err != nil {
		return sum, err
	}

	since := now.Add(-backoff)
	var notices []*notice
	for _, a := range due(&sum, alerts, since) {
		prev, ok, err := n.Tokens.ClaimNotice(ctx, a.Token, now, since)
		switch {
		case err != nil:
			sum.Failures++
			log.ErrorContext(ctx, "expiry notice not claimed", "tokenId", a.Token.ID, "err", err)
		case !ok:
			sum.Skipped++ // an overlapping run won it, or the token changed since the index was read
		default:
			sum.Notified++
			log.WarnContext(ctx, Warning(a), "tokenId", a.Token.ID, "ownerId", a.Token.OwnerID,
				"expiresAt", a.Token.ExpiresAt.Format(time.RFC3339))
			notices = append(notices, &notice{alert: a, prev: prev})
		}
	}

	owners := map[string]address{}
	for _, id := range ownersOf(notices) {
		p, err := n.Principals.GetPrincipal(ctx, id)
		a := addressOf(p, err)
		switch {
		case a.failed:
			sum.Failures++
			log.ErrorContext(ctx, a.why, "ownerId", id, "err", err)
		case a.email == "":
			log.InfoContext(ctx, a.why, "ownerId", id)
		}
		owners[id] = a
	}

	for _, m := range mailingsOf(notices, owners, recipients) {
		err := n.Mailer.Send(ctx, m.to, m.alerts())
		switch delivered(&sum, m, err) {
		case unconfirmed:
			log.WarnContext(ctx, "expiry notice email unconfirmed: kept as sent, not mailed again before the backoff", "to", m.to, "tokens", len(m.notices), "err", err)
		case failed:
			log.ErrorContext(ctx, "expiry notice email failed", "to", m.to, "tokens", len(m.notices), "err", err)
		}
	}

	// Releases outlive a cancelled run (a Lambda deadline is the likely reason its
	// messages failed).
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	for _, nt := range unsent(notices) {
		if err := n.Tokens.ReleaseNotice(release, nt.alert.Token.ID, now, nt.prev); err != nil {
			sum.Failures++
			log.ErrorContext(ctx, "expiry notice not released: retried after the backoff", "tokenId", nt.alert.Token.ID, "err", err)
		}
	}
	n.mailReuses(ctx, now, &sum, log)
	return sum, nil
}

// Warning is the log line of one notice, exactly as SPEC.md fixes it.
func Warning(a token.Alert) string {
	return fmt.Sprintf("Warn: API Token [%s] (ID [%s]) will expire in less than %d days.", a.Token.Name, a.Token.ID, a.DaysLeft)
}

// found counts what the index returned (alerts, err as token.ExpiringWithin gave them):
// stored items that do not decode are counted as unreadable (each was logged by id
// where it was read) and the run goes on; any other error fails the run.
func found(sum *Summary, alerts []token.Alert, err error) error {
	var skipped *token.SkippedError
	switch {
	case errors.As(err, &skipped):
		sum.Unreadable = len(skipped.IDs)
	case err != nil:
		sum.Failures++
		return fmt.Errorf("expiry notifier: %w", err)
	}
	sum.TokensRead = len(alerts)
	return nil
}

// due returns the alerts whose notice this run tries to claim: the index carries
// lastNotifiedAt, so a notice it shows as sent after since (within the backoff) costs no
// write and is counted as skipped. The claim alone decides the others: the index may be
// stale.
func due(sum *Summary, alerts []token.Alert, since time.Time) []token.Alert {
	out := make([]token.Alert, 0, len(alerts))
	for _, a := range alerts {
		if a.Token.LastNotifiedAt.After(since) {
			sum.Skipped++
			continue
		}
		out = append(out, a)
	}
	return out
}

// ownersOf is the owners of the notices, once each, in the order they first come up.
func ownersOf(notices []*notice) []string {
	var out []string
	seen := map[string]bool{}
	for _, nt := range notices {
		if id := nt.alert.Token.OwnerID; !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// address is what the look-up of an owner gave: its email, or "" and why not.
type address struct {
	email  string
	failed bool   // the look-up failed: counted, and the owner's notices are retried
	why    string // the log line when there is no email
}

// addressOf decides an owner's address from its look-up (p, or err). An owner unknown or
// without an address is mailed nothing (its tokens still reach the configured
// addresses); a malformed address is the mailer's to refuse, like any other failed
// message.
func addressOf(p *access.Principal, err error) address {
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return address{why: "expiry notice: owner is not a known principal, not emailed"}
	case err != nil:
		return address{failed: true, why: "expiry notice: owner look-up failed, not emailed"}
	case p.Email == "":
		return address{why: "expiry notice: owner has no email address, not emailed"}
	}
	return address{email: p.Email}
}

// mailing is the message one recipient gets.
type mailing struct {
	to      string
	notices []*notice
}

func (m *mailing) alerts() []token.Alert {
	out := make([]token.Alert, len(m.notices))
	for i, nt := range m.notices {
		out[i] = nt.alert
	}
	return out
}

// mailingsOf groups the notices by address: each owner with an email address gets its
// own tokens, every configured address (EXPIRY_NOTIFICATION_EMAILS) gets them all.
// Addresses are compared without case, so an owner who is also on the list gets one
// message; mailings come in the order their addresses first come up, so runs are
// reproducible. It marks each notice meant for a message as addressed, including one
// whose owner's look-up failed, so that its claim is handed back if nothing carries it.
func mailingsOf(notices []*notice, owners map[string]address, recipients []string) []*mailing {
	by := map[string]*mailing{}
	var out []*mailing
	for _, nt := range notices {
		owner := owners[nt.alert.Token.OwnerID]
		tos := recipients
		if owner.email != "" {
			tos = append(slices.Clip(tos), owner.email)
		}
		nt.addressed = owner.failed
		for _, to := range tos {
			key := strings.ToLower(to)
			m := by[key]
			if m == nil {
				m = &mailing{to: to}
				by[key] = m
				out = append(out, m)
			}
			if k := len(m.notices); k > 0 && m.notices[k-1] == nt {
				continue // the owner is on the list too
			}
			m.notices = append(m.notices, nt)
			nt.addressed = true
		}
	}
	return out
}

// outcome is what became of one message.
type outcome int

const (
	sent        outcome = iota // accepted
	unconfirmed                // the answer was lost: it may have gone out
	failed                     // it did not go out
)

// delivered counts the answer err to m's message and marks its notices delivered when
// it went out or may have: a message that may have been sent is kept as sent rather
// than mailed twice.
func delivered(sum *Summary, m *mailing, err error) outcome {
	o := sent
	switch {
	case errors.Is(err, ErrMaybeSent):
		sum.Unconfirmed++
		o = unconfirmed
	case err != nil:
		sum.Failures++
		return failed
	default:
		sum.EmailsSent++
	}
	for _, nt := range m.notices {
		nt.delivered = true
	}
	return o
}

// unsent is the notices whose claims the run hands back for the next run to retry: those
// some message was meant to carry and none did. One that reached some of its recipients
// is kept: retrying it would send the others a second copy, and a recipient that failed
// gets the token again after the backoff. One meant for nobody is kept too.
func unsent(notices []*notice) []*notice {
	var out []*notice
	for _, nt := range notices {
		if nt.addressed && !nt.delivered {
			out = append(out, nt)
		}
	}
	return out
}
