// Package api is the management API: every operation as an http.Handler, the same value
// under a Lambda (through shared/lambdahttp) and in the local gateway. Handlers read the
// caller the authorizer put in the context, return errors, and problem.go alone turns an
// error into a status and an RFC 9457 problem+json body.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

type problem struct {
	Type   string             `json:"type"`
	Title  string             `json:"title"`
	Status int                `json:"status"`
	Detail string             `json:"detail"`
	Errors []fault.FieldError `json:"errors,omitempty"`
}

// errUnauthenticated: the request reached a handler with no caller, which only a wrongly
// wired gateway allows. Answer 401 rather than guess.
var errUnauthenticated = errors.New("no authenticated caller")

// errRateLimited: too many requests from one source (429).
var errRateLimited = errors.New("rate limited")

// RetryAfter is the Retry-After of a 503: long enough for a throttled table or a
// restarting dependency to recover, short enough for a client's own retry loop.
const RetryAfter = "5"

// errBodyUnread: the request body could not be read to its end, most often a client
// that stopped sending it (the server's read timeout ended it). The client's fault, not
// ours: 400 and no ERROR line.
var errBodyUnread = errors.New("request body not read to its end")

// writeError is the only place an error becomes a status. A dependency that is down,
// slow or throttling (fault.ErrUnavailable) is a 503 with Retry-After, its cause logged
// at WARN. Anything unrecognised is a 500 whose cause goes to the log and never to the
// caller.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problem{Status: http.StatusInternalServerError, Detail: "The request could not be completed."}
	var (
		invalid   *fault.InvalidError
		forbidden *fault.ForbiddenError
		state     *fault.StateError
		tooLarge  *http.MaxBytesError
		replay    *audit.IdempotencyReplayError
	)
	switch {
	case errors.As(err, &tooLarge):
		p = problem{Status: http.StatusRequestEntityTooLarge, Detail: "The request body is larger than 64 KiB."}
	case errors.As(err, &invalid):
		p = problem{Status: http.StatusBadRequest, Detail: "Some fields are invalid.", Errors: invalid.Fields}
	case errors.Is(err, errUnsupportedMedia):
		p = problem{Status: http.StatusUnsupportedMediaType, Detail: "Send the body as JSON, with the header Content-Type: application/json."}
	case errors.Is(err, errRateLimited):
		p = problem{Status: http.StatusTooManyRequests, Detail: "Too many requests; retry after the time in Retry-After."}
	case errors.Is(err, errUnauthenticated):
		p = problem{Status: http.StatusUnauthorized, Detail: "A valid token is required."}
	case errors.As(err, &forbidden):
		p = problem{Status: http.StatusForbidden, Detail: "Not allowed: " + forbidden.Reason + "."}
	case errors.Is(err, fault.ErrForbidden):
		p = problem{Status: http.StatusForbidden, Detail: "Not allowed."}
	case errors.Is(err, fault.ErrNotFound):
		p = problem{Status: http.StatusNotFound, Detail: "Nothing with this id (or nothing you may see)."}
	case errors.As(err, &replay):
		p = problem{Status: http.StatusConflict, Detail: "This Idempotency-Key already made its change: " + string(replay.Type) + " of token " + replay.TokenID +
			" at " + replay.At.UTC().Format(time.RFC3339) + ". Nothing more was changed. The secret was in that answer only and is kept nowhere; if the answer was lost, rotate the token."}
		w.Header().Set("Location", "/tokens/"+replay.TokenID)
	case errors.Is(err, fault.ErrConflict):
		p = problem{Status: http.StatusConflict, Detail: "It changed meanwhile; read it again and retry."}
	case errors.As(err, &state):
		p = problem{Status: http.StatusConflict, Detail: "Not possible now: " + state.Reason + "."}
	case errors.Is(err, errBodyUnread):
		p = problem{Status: http.StatusBadRequest, Detail: "The request body ended before it was complete."}
		slog.InfoContext(r.Context(), "request body not read", "method", r.Method, "path", r.URL.Path, "err", err)
	case errors.Is(err, fault.ErrUnavailable):
		p = problem{Status: http.StatusServiceUnavailable, Detail: "A service tokengate depends on is unavailable or too slow; retry after the time in Retry-After."}
		w.Header().Set("Retry-After", RetryAfter)
		slog.WarnContext(r.Context(), "dependency unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
