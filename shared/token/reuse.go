package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// Reuse detection: a secret rotated away (Token.Reused) presented after its grace
// period is refused by the authorizer, which asks RecordReuse to record it.

// ReuseRecordEvery is how often a reuse of one token is recorded at most, whichever
// instance saw it: the record is an audit event, an alert and a mail to the owner, and a
// client that keeps an old secret would otherwise write one per request.
const ReuseRecordEvery = time.Hour

// ReuseAlertWindow is how long a recorded reuse stays in GET /alerts.
const ReuseAlertWindow = 7 * 24 * time.Hour

// maxReuseAlerts bounds the reuse records GET /alerts reads (one Query page).
const maxReuseAlerts = 100

// RecordReuse records that a secret rotated away from token id was presented from ip at
// at, unless a reuse of it was recorded within ReuseRecordEvery: the audit event
// reuse-detected (actor audit.ReuseDetector), which GET /alerts and the owner's mail come
// from, in the same write as the token's ReuseDetectedAt and, when its OnReuse revokes,
// its revocation (the temporary tokens that live with it end with it). revoked reports
// whether this call revoked it. Concurrent records of one token write once: the write
// is conditional on the version read, and a conflict reads again.
func (s *Service) RecordReuse(ctx context.Context, id ID, ip string, at time.Time) (revoked bool, err error) {
	detector := access.Caller{OwnerID: audit.ReuseDetector}
	at = at.UTC().Truncate(time.Second)
	for attempt := 0; ; attempt++ {
		t, err := s.Store.Get(ctx, id)
		if errors.Is(err, fault.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("record reuse of %s: %w", id, err)
		}
		if t.Ended(at) {
			return false, nil // it works no more: nothing to alert about
		}
		revoke, before := t.OnReuse.Revokes(), t.Version
		t, err = s.apply(ctx, detector, t, 0, reuseOp(ip, revoke), reuseEdit(at, ip, revoke))
		switch {
		case errors.Is(err, fault.ErrConflict) && attempt < 3:
			continue
		case err != nil:
			return false, fmt.Errorf("record reuse of %s: %w", id, err)
		}
		return revoke && t.Version != before, nil
	}
}

// reuseOp is the audit record of a reuse: where it came from, and what it did.
func reuseOp(ip string, revoke bool) op {
	if ip == "" {
		ip = "unknown"
	}
	o := op{typ: audit.EventReuseDetected, reason: "a secret rotated away was presented after its grace period",
		extra: []audit.Change{{Field: "sourceIp", To: ip}}}
	if revoke {
		o.extra = append(o.extra, audit.Change{Field: "onReuse", To: string(ReuseRevoke)})
	}
	return o
}

// reuseEdit records a reuse at at from ip, and revokes the token when revoke; nothing
// when one was recorded within ReuseRecordEvery.
func reuseEdit(at time.Time, ip string, revoke bool) edit {
	return func(t *Token, now time.Time) (bool, error) {
		if !t.ReuseDetectedAt.IsZero() && at.Sub(t.ReuseDetectedAt) < ReuseRecordEvery {
			return false, nil
		}
		t.ReuseDetectedAt, t.ReuseIP = at, ip
		if revoke {
			if _, err := revokeEdit(t, at); err != nil {
				return false, err
			}
		}
		return true, nil
	}
}

// ReuseAlert is a recorded reuse of one of the tokens a caller may see.
type ReuseAlert struct {
	Token      *Token
	DetectedAt time.Time
	SourceIP   string
	Revoked    bool // the record revoked the token (onReuse revoke)
}

// ReuseSource reads what recent reuses are made of: the detector's audit records and the
// tokens they name (Store has both; so has shared/store.Table for the notifier).
type ReuseSource interface {
	Get(ctx context.Context, id ID) (*Token, error)
	Events(ctx context.Context, f audit.Filter) (page []*audit.Event, next string, err error)
}

// RecentReuses returns the reuses recorded within ReuseAlertWindow before now of the
// tokens of owner ("": every owner's), the newest of each token, newest first: one Query of the detector's records in byOwner (bounded by
// one record per token an hour, and by maxReuseAlerts), and a GetItem of each token they
// name. A token gone since (TTL) is left out.
func RecentReuses(ctx context.Context, src ReuseSource, owner string, now time.Time) ([]ReuseAlert, error) {
	evs, _, err := src.Events(ctx, audit.Filter{ActorID: audit.ReuseDetector, Type: audit.EventReuseDetected, Since: now.Add(-ReuseAlertWindow), Limit: maxReuseAlerts})
	if err != nil {
		return nil, fmt.Errorf("recent reuses: %w", err)
	}
	var out []ReuseAlert
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.TokenID] || (owner != "" && e.OwnerID != owner) {
			continue
		}
		seen[e.TokenID] = true
		t, err := src.Get(ctx, ID(e.TokenID))
		if errors.Is(err, fault.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recent reuses: %w", err)
		}
		a := ReuseAlert{Token: t, DetectedAt: e.Time, SourceIP: t.ReuseIP}
		for _, ch := range e.Changes {
			switch ch.Field {
			case "sourceIp":
				a.SourceIP = ch.To
			case "status":
				a.Revoked = ch.To == string(StatusRevoked)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// ReuseAlerts returns the RecentReuses of the tokens the caller may see: its own, or all
// with tokens:admin.
func (s *Service) ReuseAlerts(ctx context.Context, c access.Caller) ([]ReuseAlert, error) {
	if !canRead(c) {
		return nil, &fault.ForbiddenError{Reason: "reading alerts needs the tokens:read scope"}
	}
	owner := c.OwnerID
	if c.Has(access.TokensAdmin) {
		owner = ""
	}
	out, err := RecentReuses(ctx, s.Store, owner, s.now())
	if err != nil {
		return nil, fmt.Errorf("reuse alerts for %s: %w", c.OwnerID, err)
	}
	return out, nil
}
