// Package gateway serves a SAM template's API routes locally the way API Gateway (a REST
// API with a Lambda REQUEST authorizer) would: same routing, the template's gateway
// responses for unknown routes and refused requests, and the authorizer's caller in the
// context of the handler, so handlers can't tell the local gateway from the real one.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
)

// Verdict is a Lambda authorizer's answer, as API Gateway acts on it.
type Verdict int

const (
	Allow        Verdict = iota // an Allow policy: the function runs with the caller
	Unauthorized                // the authorizer said "Unauthorized" (no valid token): 401, UNAUTHORIZED
	Denied                      // a Deny policy (a valid token refused here): 403, ACCESS_DENIED
	Failed                      // the authorizer failed: 500, AUTHORIZER_FAILURE
)

// Authorize decides a request. It never sees a request for an unauthorized route, nor
// one without the identity sources (those get 401 before any authorizer runs).
type Authorize func(r *http.Request) (access.Caller, Verdict)

// Options are what the template says about the API beyond its routes.
type Options struct {
	// Responses are the gateway responses by type; missing types answer as API Gateway's
	// defaults do ({"message": ...} in JSON).
	Responses map[string]samtemplate.GatewayResponse
	// IdentityHeaders are the headers the authorizer's identity sources name; a request
	// missing one is refused with 401 without calling Authorize. Empty: none, as for a
	// REQUEST authorizer without identity sources (possible while API Gateway's cache of
	// its results is off), which API Gateway calls for every request.
	IdentityHeaders []string
	// Throttles are the template's MethodSettings throttling: a request over a route's
	// limit gets THROTTLED (429) before the authorizer runs.
	Throttles []samtemplate.Throttle
	Log       *slog.Logger     // nil: JSON to standard error
	Now       func() time.Time // nil: time.Now
}

// New returns a handler that routes requests to handlers by function logical id, and
// writes one JSON access log line per request to standard error.
func New(routes []samtemplate.Route, handlers map[string]http.Handler, auth Authorize) (http.Handler, error) {
	return NewWithOptions(routes, handlers, auth, Options{})
}

// NewWithLogger is New with the access log going to log.
func NewWithLogger(routes []samtemplate.Route, handlers map[string]http.Handler, auth Authorize, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		return nil, errors.New("gateway needs a logger")
	}
	return NewWithOptions(routes, handlers, auth, Options{Log: log})
}

// NewWithOptions is New with the template's gateway responses and identity sources.
func NewWithOptions(routes []samtemplate.Route, handlers map[string]http.Handler, auth Authorize, opts Options) (http.Handler, error) {
	log := opts.Log
	var own *accessLog
	if log == nil {
		own = &accessLog{w: os.Stderr}
	}
	identity := opts.IdentityHeaders
	resp := responses(opts.Responses)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	buckets := map[samtemplate.Throttle]*bucket{}
	var missing []string
	needsAuth := false
	for _, r := range routes {
		if handlers[r.Function] == nil && !slices.Contains(missing, r.Function) {
			missing = append(missing, r.Function)
		}
		needsAuth = needsAuth || r.Authorized
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("no handler for function(s) %s", strings.Join(missing, ", "))
	}
	if needsAuth && auth == nil {
		return nil, errors.New("routes need authorization but no Authorize was given")
	}

	g := &gateway{mux: http.NewServeMux(), functions: map[string]string{}, log: log, own: own, respond: resp}
	for _, r := range routes {
		pattern := r.Pattern()
		if err := handle(g.mux, pattern, &route{Route: r, next: handlers[r.Function], auth: auth, identity: identity, respond: resp, throttle: throttleFor(r, opts.Throttles, buckets, now)}); err != nil {
			return nil, fmt.Errorf("register route %s %s of %s: %w", r.Method, r.Path, r.Function, err)
		}
		g.functions[pattern] = r.Function
	}
	// Any request no route matches: a REST API has no 405 and answers
	// MISSING_AUTHENTICATION_TOKEN, whatever its credentials. A template route that already
	// matches every request ("ANY /{proxy+}") conflicts with this pattern and leaves none.
	_ = handle(g.mux, "/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		g.respond(w, "MISSING_AUTHENTICATION_TOKEN")
	}))
	return g, nil
}

// handle registers a pattern, turning ServeMux's panic on a malformed or conflicting
// pattern into an error: ServeMux's rules are the ones that matter, and it only panics.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

type gateway struct {
	mux       *http.ServeMux
	functions map[string]string // pattern -> function, for the access log
	log       *slog.Logger      // nil: own
	own       *accessLog        // JSON to standard error, formatted by hand
	respond   responder
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	// One routing pass: ServeMux notes the pattern it matched in r.Pattern, which names
	// the function (none for the catch-all).
	r.Pattern = ""
	g.mux.ServeHTTP(rec, r)
	function := g.functions[r.Pattern]

	// Never log headers or the query: they can carry tokens.
	end := time.Now()
	if g.own != nil {
		g.own.write(accessLine{at: end, method: r.Method, path: r.URL.Path, status: rec.status(), duration: end.Sub(start), function: function})
		return
	}
	// Straight to the handler: a record without a source position skips a stack walk.
	h := g.log.Handler()
	if !h.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	line := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	line.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status()),
		slog.Float64("duration_ms", durationMs(end.Sub(start))),
		slog.String("function", function),
	)
	_ = h.Handle(r.Context(), line)
}

// route is one template route: it plays API Gateway's authorizer step, then the function.
type route struct {
	samtemplate.Route
	next     http.Handler
	auth     Authorize
	identity []string
	respond  responder
	throttle *bucket // nil: not throttled
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.throttle != nil && !rt.throttle.take() {
		rt.respond(w, "THROTTLED")
		return
	}
	if !rt.Authorized {
		// Only the authorizer may name a caller: hide whatever came in with the request.
		rt.next.ServeHTTP(w, r.WithContext(withoutCaller{r.Context()}))
		return
	}
	// A REQUEST authorizer's identity sources must all be present: without one API
	// Gateway refuses with 401 before the authorizer runs.
	for _, h := range rt.identity {
		if r.Header.Get(h) == "" {
			rt.respond(w, "UNAUTHORIZED")
			return
		}
	}
	c, v := rt.auth(r)
	switch v {
	case Allow:
		// The caller the authorizer named hides whatever came in with the request.
		r = r.WithContext(access.WithCaller(r.Context(), c))
	case Unauthorized:
		rt.respond(w, "UNAUTHORIZED")
		return
	case Denied:
		rt.respond(w, "ACCESS_DENIED")
		return
	default:
		rt.respond(w, "AUTHORIZER_FAILURE")
		return
	}
	rt.next.ServeHTTP(w, r)
}

// withoutCaller hides any access.Caller in the wrapped context while keeping every other
// value, its deadline and its cancellation.
type withoutCaller struct{ context.Context }

func (c withoutCaller) Value(key any) any {
	v := c.Context.Value(key)
	if _, isCaller := v.(access.Caller); isCaller {
		return nil
	}
	return v
}

// statusRecorder notes the status a handler sent, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 && code >= 200 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
