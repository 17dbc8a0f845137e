package expirynotice

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"tokengate/shared/token"
)

// Reuse mails: the authorizer records a reuse of a rotated-away secret (audit event
// reuse-detected, the token's reuseDetectedAt) but sends no mail, which would put SES on
// the hot path. Each notifier run mails the owner of every token whose last recorded
// reuse has not been mailed, claiming the mail on the token first (reuseNotifiedAt), so
// overlapping runs send it once. A reuse is mailed within one notifier interval.

// ReuseTokens is what the reuse mails need of the table; shared/store.Table implements it.
type ReuseTokens interface {
	token.ReuseSource
	// ClaimReuseNotice marks the mail about t's last reuse as sent, unless it is already
	// or another reuse was recorded since t was read; prev is what it replaced.
	ClaimReuseNotice(ctx context.Context, t *token.Token) (prev time.Time, ok bool, err error)
	// ReleaseReuseNotice puts back prev if the claim of the reuse detected at detected
	// still stands.
	ReleaseReuseNotice(ctx context.Context, id token.ID, detected, prev time.Time) error
}

// ReuseMailer sends an owner the mail about one reuse; shared/email.Mailer implements it.
// Its errors mean what Mailer.Send's do (ErrMaybeSent).
type ReuseMailer interface {
	SendReuse(ctx context.Context, to string, a token.ReuseAlert) error
}

// reuseDue reports whether the reuse alert a still needs its mail.
func reuseDue(a token.ReuseAlert) bool {
	t := a.Token
	return !t.ReuseDetectedAt.IsZero() && t.ReuseNotifiedAt.Before(t.ReuseDetectedAt)
}

// mailReuses mails each owner the reuses of its tokens not mailed yet (nothing without
// Reuses and ReuseMailer). A failure is counted and logged, and the claim handed back
// so that the next run retries; an answer lost keeps the claim (mailed at most once).
func (n *Notifier) mailReuses(ctx context.Context, now time.Time, sum *Summary, log *slog.Logger) {
	if n.Reuses == nil || n.ReuseMailer == nil {
		return
	}
	alerts, err := token.RecentReuses(ctx, n.Reuses, "", now)
	if err != nil {
		sum.Failures++
		log.ErrorContext(ctx, "reuse notices: the recorded reuses could not be read", "err", err)
		return
	}
	release := func(t *token.Token, prev time.Time) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := n.Reuses.ReleaseReuseNotice(rctx, t.ID, t.ReuseDetectedAt, prev); err != nil {
			sum.Failures++
			log.ErrorContext(ctx, "reuse notice not released: not mailed again", "tokenId", t.ID, "err", err)
		}
	}
	for _, a := range alerts {
		if !reuseDue(a) {
			continue
		}
		t := a.Token
		prev, ok, err := n.Reuses.ClaimReuseNotice(ctx, t)
		switch {
		case err != nil:
			sum.Failures++
			log.ErrorContext(ctx, "reuse notice not claimed", "tokenId", t.ID, "err", err)
			continue
		case !ok:
			sum.Skipped++ // an overlapping run mailed it, or another reuse came since
			continue
		}
		p, err := n.Principals.GetPrincipal(ctx, t.OwnerID)
		addr := addressOf(p, err)
		switch {
		case addr.failed:
			sum.Failures++
			log.ErrorContext(ctx, "reuse notice: owner look-up failed, retried on the next run", "ownerId", t.OwnerID, "err", err)
			release(t, prev)
			continue
		case addr.email == "":
			log.InfoContext(ctx, "reuse notice: owner has no email address, not emailed", "ownerId", t.OwnerID, "tokenId", t.ID)
			continue // the alert stays in GET /alerts and the console
		}
		err = n.ReuseMailer.SendReuse(ctx, addr.email, a)
		switch {
		case err == nil:
			sum.ReuseMails++
		case errors.Is(err, ErrMaybeSent):
			sum.Unconfirmed++
			log.WarnContext(ctx, "reuse notice email unconfirmed: kept as sent", "to", addr.email, "tokenId", t.ID, "err", err)
		default:
			sum.Failures++
			log.ErrorContext(ctx, "reuse notice email failed, retried on the next run", "to", addr.email, "tokenId", t.ID, "err", err)
			release(t, prev)
		}
	}
}
