package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// eventView is an audit record as the API shows it.
type eventView struct {
	ID           string `json:"id"`
	Time         string `json:"time"`
	Type         string `json:"type"`
	ActorID      string `json:"actorId"`
	ActorTokenID string `json:"actorTokenId,omitempty"`
	// ActorMintedBy: the actor's token was delegated, minted by this principal.
	ActorMintedBy string         `json:"actorMintedBy,omitempty"`
	TokenID       string         `json:"tokenId"`
	OwnerID       string         `json:"ownerId"`
	Reason        string         `json:"reason,omitempty"`
	Changes       []token.Change `json:"changes"`
}

type eventsView struct {
	Items      []eventView `json:"items"`
	NextCursor *string     `json:"nextCursor"`
}

func events(es []*token.Event, next string) eventsView {
	out := eventsView{Items: make([]eventView, len(es)), NextCursor: strPtr(next)}
	for i, e := range es {
		out.Items[i] = eventView{
			ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Type: string(e.Type), ActorID: e.ActorID, ActorTokenID: e.ActorTokenID, ActorMintedBy: e.ActorMintedBy,
			TokenID: string(e.TokenID), OwnerID: e.OwnerID, Reason: e.Reason, Changes: e.Changes,
		}
		if out.Items[i].Changes == nil {
			out.Items[i].Changes = []token.Change{}
		}
	}
	return out
}

// TokenHistory serves GET /tokens/{id}/history: the token's audit records, newest first.
func TokenHistory(svc *token.Service) http.Handler {
	return handleQuery([]string{"limit", "cursor"}, func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		bad := &fault.InvalidError{}
		limit, cursor := page(r.URL.Query(), bad)
		if err := bad.Err(); err != nil {
			return err
		}
		es, next, err := svc.History(r.Context(), c, token.ID(r.PathValue("id")), limit, cursor)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, events(es, next))
		return nil
	})
}

// AuditLog serves GET /audit?actor=&tokenId=&type=&since=&until=: the activity log for
// audit:read, newest first.
func AuditLog(svc *token.Service) http.Handler {
	return handleQuery([]string{"limit", "cursor", "actor", "tokenId", "type", "since", "until"}, func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		q := r.URL.Query()
		bad := &fault.InvalidError{}
		f := token.AuditFilter{ActorID: q.Get("actor"), TokenID: token.ID(q.Get("tokenId"))}
		f.Limit, f.Cursor = page(q, bad)
		if s := q.Get("type"); s != "" {
			f.Type = token.EventType(s)
			known := false
			for _, t := range token.EventTypes {
				known = known || t == f.Type
			}
			if !known {
				bad.Add("type", "is not an event type (create, update, rotate, disable, enable, revoke, approve, reject, emergency.on, emergency.off, leaked.revoke, bootstrap, enroll, enroll.send)")
			}
		}
		for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
			if s := q.Get(name); s != "" {
				t, err := time.Parse(time.RFC3339, s)
				if err != nil {
					bad.Add(name, "must be an RFC 3339 time such as 2026-01-31T00:00:00Z")
				}
				*dst = t
			}
		}
		if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
			bad.Add("until", "must be after since")
		}
		if err := bad.Err(); err != nil {
			return err
		}
		es, next, err := svc.Audit(r.Context(), c, f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, events(es, next))
		return nil
	})
}

// ListApprovals serves GET /approvals: tokens awaiting approval, for tokens:admin.
func ListApprovals(svc *token.Service) http.Handler {
	return handleQuery([]string{"limit", "cursor"}, func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		bad := &fault.InvalidError{}
		limit, cursor := page(r.URL.Query(), bad)
		if err := bad.Err(); err != nil {
			return err
		}
		items, next, err := svc.Approvals(r.Context(), c, limit, cursor)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, tokenList(svc, items, next))
		return nil
	})
}

// ApproveToken serves POST /approvals/{id}/approve.
func ApproveToken(svc *token.Service) http.Handler {
	return changeStatus(svc, svc.Approve)
}

// RejectToken serves POST /approvals/{id}/reject.
func RejectToken(svc *token.Service) http.Handler {
	return changeStatus(svc, svc.Reject)
}

type emergencyRequest struct {
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
}

// EmergencyOn serves POST /tokens/{id}/emergency-access {"duration": "2h", "reason": "…"}.
func EmergencyOn(svc *token.Service) http.Handler {
	return handle(func(w http.ResponseWriter, r *http.Request, c access.Caller) error {
		var req emergencyRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		d, err := time.ParseDuration(req.Duration)
		if err != nil {
			return fault.Invalid("duration", `must be a duration from "1h" to "8h"`)
		}
		t, err := svc.EmergencyOn(r.Context(), c, token.ID(r.PathValue("id")), d, req.Reason)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(t, svc.Catalog, svc.Now()))
		return nil
	})
}

// EmergencyOff serves DELETE /tokens/{id}/emergency-access.
func EmergencyOff(svc *token.Service) http.Handler {
	return changeStatus(svc, svc.EmergencyOff)
}

// LeakNotifier tells the owners of revoked leaked tokens (shared/email implements it on SES).
type LeakNotifier interface {
	NotifyLeaked(ctx context.Context, revoked []*token.Token) error
}

// LeakReportsPerMinute bounds the reports one source (an IPv4 address, an IPv6 /64) may make.
const LeakReportsPerMinute = 10

type leakRequest struct {
	Tokens []string `json:"tokens"`
}

// leakAccepted is the one answer of POST /leaked-tokens, whatever was reported.
var leakAccepted = map[string]string{
	"status":  "accepted",
	"message": "Thank you. Every valid token in the report has been revoked and its owner told.",
}

// ReportLeaked serves POST /leaked-tokens (LeakedRoute), answering no sooner than
// LeakAnswerAfter.
func ReportLeaked(d LeakReporting) http.Handler {
	return &LeakedRoute{Tokens: d.Tokens, Notifier: d.Notices, Rates: d.Rates, Now: time.Now, AnswerAfter: LeakAnswerAfter}
}

// LeakedRoute serves POST /leaked-tokens, open to anyone (secret scanners, people who
// found a token): valid tokens are revoked and their owners emailed. The answer is 202
// and the same whether or not anything was valid, so the route cannot be used to test
// tokens. Each source may report LeakReportsPerMinute times a minute: an IPv4 address,
// or an IPv6 /64 (one subscriber's network, which hands out addresses freely).
type LeakedRoute struct {
	Tokens   *token.Service
	Notifier LeakNotifier
	Rates    restriction.RateCounter
	Now      func() time.Time
	// AnswerAfter is the least time an accepted report takes to answer, so that the time
	// does not tell whether something valid was revoked and mailed (LeakAnswerAfter in
	// production; 0 in tests that do not measure it).
	AnswerAfter time.Duration

	limit perMinute
}

// perMinute limits what one source (an IPv4 address, or the /64 of an IPv6 one) may do
// in a minute, counted in the table so every instance shares the count. Once a source
// used up its window this instance answers it from memory: a refused request then reads
// and writes nothing.
type perMinute struct {
	mu      sync.Mutex
	limited map[string]time.Time // source -> end of the window it used up, on this instance
}

// source is what a limit counts: an IPv4 address, or the /64 of an IPv6 one.
func source(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return a.String()
}

// allow counts one request of r's source under kind ("LEAK", "ENROLL") against limit a
// minute; when it is refused (429 with Retry-After) or cannot be counted, it has answered
// w and returns false.
func (p *perMinute) allow(w http.ResponseWriter, r *http.Request, rates restriction.RateCounter, kind string, limit int, now time.Time) bool {
	src, window := source(r), now.Truncate(time.Minute)
	p.mu.Lock()
	end, limited := p.limited[src]
	if limited && !now.Before(end) {
		delete(p.limited, src)
		limited = false
	}
	p.mu.Unlock()
	ok := false
	if !limited {
		var err error
		if ok, err = rates.TakeRate(r.Context(), restriction.SourceKey(kind, src), window, time.Minute, limit); err != nil {
			writeError(w, r, err)
			return false
		}
	}
	if !ok {
		p.mu.Lock()
		if p.limited == nil || len(p.limited) > 10000 {
			p.limited = map[string]time.Time{}
		}
		p.limited[src] = window.Add(time.Minute)
		p.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(60-now.Second()))
		writeError(w, r, errRateLimited)
	}
	return ok
}

// LeakAnswerAfter is longer than a revocation and its emails normally take.
const LeakAnswerAfter = time.Second

func (l *LeakedRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	if err := checkQuery(r, nil); err != nil {
		writeError(w, r, err)
		return
	}
	if !l.limit.allow(w, r, l.Rates, "LEAK", LeakReportsPerMinute, l.Now().UTC()) {
		return
	}
	var req leakRequest
	if err := decode(w, r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	revoked, err := l.Tokens.ReportLeaked(r.Context(), req.Tokens)
	var invalid *fault.InvalidError
	if errors.As(err, &invalid) {
		writeError(w, r, err)
		return
	}
	if err != nil {
		// Revocations that failed are logged (ids only); the reporter's answer stays the same.
		slog.ErrorContext(r.Context(), "leaked-token report partly failed", "err", err)
	}
	if len(revoked) > 0 {
		ids := make([]string, len(revoked))
		for i, t := range revoked {
			ids[i] = string(t.ID)
		}
		slog.WarnContext(r.Context(), "leaked tokens revoked", "tokenIds", ids, "source", source(r))
		if err := l.Notifier.NotifyLeaked(r.Context(), revoked); err != nil {
			slog.ErrorContext(r.Context(), "leaked-token notices not all sent", "err", err)
		}
	}
	if wait := l.AnswerAfter - time.Since(started); wait > 0 {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
		}
	}
	if errors.Is(err, fault.ErrUnavailable) {
		writeError(w, r, err) // 503: the reporter retries; what was revoked is skipped then
		return
	}
	writeJSON(w, http.StatusAccepted, leakAccepted)
}
