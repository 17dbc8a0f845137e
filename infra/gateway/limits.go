package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Limits are what the local gateway enforces the way API Gateway does, so a client that
// works locally does not hang or get through in ways the real one refuses.
type Limits struct {
	// MaxPayload is API Gateway's largest request body (10 MB): larger is 413.
	MaxPayload int64
	// Timeout is API Gateway's integration timeout (30 s): the request's context ends
	// then, and so does every AWS call a handler makes with it.
	Timeout time.Duration
	// ReadTimeout bounds reading a whole request, body included: a client that never
	// finishes its body is dropped then, instead of holding a connection.
	ReadTimeout time.Duration
	// WriteTimeout bounds a whole exchange, from the end of the request headers.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections nobody uses.
	IdleTimeout time.Duration
}

// APIGatewayLimits are API Gateway's own limits.
var APIGatewayLimits = Limits{
	MaxPayload:   10 << 20,
	Timeout:      30 * time.Second,
	ReadTimeout:  30 * time.Second,
	WriteTimeout: 35 * time.Second,
	IdleTimeout:  60 * time.Second,
}

// Server returns an HTTP server for h with lim applied: timeouts on the connection, and
// the payload and time limits on every request.
func Server(h http.Handler, lim Limits) *http.Server {
	return &http.Server{
		Handler:           limit(h, lim),
		ReadHeaderTimeout: min(10*time.Second, lim.ReadTimeout),
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

func limit(h http.Handler, lim Limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > lim.MaxPayload {
			writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, lim.MaxPayload)
		ctx, cancel := context.WithTimeout(r.Context(), lim.Timeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeMessage answers as API Gateway's built-in responses do: {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
