package authorizer

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"tokengate/shared/token"
)

// Reuse detection: a secret rotated away, presented after its grace period, is refused
// (ReasonReused) and recorded. Only a secret that failed to verify is checked against the
// rotated-away ones (token.Token.Reused), so a token never rotated costs nothing more and
// a cache hit nothing at all.

// ReuseRecorder records a detected reuse (token.Service.RecordReuse implements it): an
// audit event reuse-detected, the alert, and the token's onReuse action, at most once per
// token an hour whichever instance asks. revoked reports whether it revoked the token.
type ReuseRecorder interface {
	RecordReuse(ctx context.Context, id token.ID, sourceIP string, at time.Time) (revoked bool, err error)
}

const (
	// ReuseRecordEvery is how often an instance asks the recorder about one token: the
	// recorder's conditional write makes it once an hour across instances, and the memo
	// spares the table a write per refused request.
	ReuseRecordEvery = time.Hour
	// reuseRetryAfter is how soon an instance asks again after the recorder failed.
	reuseRetryAfter = time.Minute
)

// reuseMemo remembers, per token, until when this instance does not ask the recorder.
type reuseMemo struct {
	until *expirable.LRU[token.ID, time.Time]
}

func newReuseMemo(size int) *reuseMemo {
	return &reuseMemo{until: expirable.NewLRU[token.ID, time.Time](size, nil, ReuseRecordEvery)}
}

// recordReuse records a reuse of t from ip at now, unless this instance did lately. It
// runs on the refusal path only, before the answer: a refusal waits for its record, so
// a revocation it causes is in the table before the caller can try again.
func (a *Authorizer) recordReuse(ctx context.Context, t *token.Token, ip string, now time.Time) {
	if until, ok := a.reuses.until.Get(t.ID); ok && now.Before(until) {
		return
	}
	if a.cfg.Reuse == nil {
		slog.WarnContext(ctx, "reuse of a rotated-away credential refused; no recorder configured", "tokenId", string(t.ID), "sourceIp", ip)
		a.reuses.until.Add(t.ID, now.Add(ReuseRecordEvery))
		return
	}
	// Cloned: the id is a substring of the presented string, secret included.
	id := token.ID(strings.Clone(string(t.ID)))
	revoked, err := a.cfg.Reuse.RecordReuse(ctx, id, ip, now)
	if err != nil {
		slog.ErrorContext(ctx, "recording a reuse failed; asked again in a minute", "tokenId", string(id), "err", err)
		a.reuses.until.Add(id, now.Add(reuseRetryAfter))
		return
	}
	a.reuses.until.Add(id, now.Add(ReuseRecordEvery))
	if revoked && a.tokens != nil {
		// This instance drops the token and what descends from it at once; the others
		// through the change feed the revocation wrote.
		var c changeSet
		c.add(FeedToken, string(id))
		a.apply(&c)
	}
}
