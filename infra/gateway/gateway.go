// Package gateway serves a SAM template's HTTP API routes locally the way API Gateway
// (HTTP API, Lambda authorizer with simple responses) would: same routing, same answers
// for unknown routes and refused requests, and the authorizer's caller in the context of
// the handler, so handlers can't tell the local gateway from the real one.
package gateway

import (
	"context"
	"encoding/json"
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

// Authorize decides a request; ok false means deny. It never sees a request for an unauthorized route.
type Authorize func(r *http.Request) (c access.Caller, ok bool)

// New returns a handler that routes requests to handlers by function logical id, and
// writes one JSON access log line per request to standard error.
func New(routes []samtemplate.Route, handlers map[string]http.Handler, auth Authorize) (http.Handler, error) {
	return NewWithLogger(routes, handlers, auth, slog.New(slog.NewJSONHandler(os.Stderr, nil)))
}

// NewWithLogger is New with the access log going to log.
func NewWithLogger(routes []samtemplate.Route, handlers map[string]http.Handler, auth Authorize, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		return nil, errors.New("gateway needs a logger")
	}
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

	g := &gateway{mux: http.NewServeMux(), functions: map[string]string{}, log: log}
	for _, r := range routes {
		pattern := r.Pattern()
		if err := handle(g.mux, pattern, &route{Route: r, next: handlers[r.Function], auth: auth}); err != nil {
			return nil, fmt.Errorf("register route %s %s of %s: %w", r.Method, r.Path, r.Function, err)
		}
		g.functions[pattern] = r.Function
	}
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
	log       *slog.Logger
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	// Only the authorizer may name a caller: hide whatever came in with the request.
	r = r.WithContext(withoutCaller{r.Context()})

	// ServeMux would answer 405 for a known path with another method, and in text; HTTP
	// API has no such notion and answers 404 for any request that matches no route.
	function := ""
	if _, pattern := g.mux.Handler(r); pattern == "" {
		writeMessage(rec, http.StatusNotFound, "Not Found")
	} else {
		function = g.functions[pattern]
		g.mux.ServeHTTP(rec, r)
	}

	// Never log headers or the query: they can carry tokens.
	g.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", rec.status()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("function", function),
	)
}

// route is one template route: it plays API Gateway's authorizer step, then the function.
type route struct {
	samtemplate.Route
	next http.Handler
	auth Authorize
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.Authorized {
		// The authorizer's identity source is the Authorization header (or an API key);
		// without one API Gateway refuses before the authorizer runs.
		if r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" {
			writeMessage(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		c, ok := rt.auth(r)
		if !ok {
			writeMessage(w, http.StatusForbidden, "Forbidden")
			return
		}
		r = r.WithContext(access.WithCaller(r.Context(), c))
	}
	rt.next.ServeHTTP(w, r)
}

// writeMessage answers the way API Gateway does for requests it handles itself.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
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
