// Package lambdahttp adapts an http.Handler to API Gateway's Lambda proxy events, REST API
// (payload format 1.0) and HTTP API (payload format 2.0), so each operation is written
// once as a plain net/http handler and runs the same behind either API and in the local
// gateway.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/access"
)

// AnswerMargin is how long before the function's own deadline a request's context ends:
// a handler still waiting on a slow dependency then gets its error in time to answer 503
// with Retry-After, instead of Lambda killing it and API Gateway answering a bare 502
// (docs/operations.md).
const AnswerMargin = time.Second

// Handler returns a Lambda handler that serves both REST API proxy events and HTTP API
// (2.0) events with h, answering each in its own response format: tokengate's APIs are
// REST APIs, and a user may route an HTTP API to the same functions. The request's
// context ends AnswerMargin before the invocation's.
func Handler(h http.Handler) func(context.Context, json.RawMessage) (any, error) {
	rest, httpAPI := REST(h), HTTPAPI(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-AnswerMargin))
			defer cancel()
		}
		var probe struct {
			Version    string `json:"version"`
			HTTPMethod string `json:"httpMethod"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("lambdahttp: event is not JSON: %w", err)
		}
		switch {
		case probe.Version == "2.0":
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("lambdahttp: http api event: %w", err)
			}
			return httpAPI(ctx, ev)
		case probe.HTTPMethod != "":
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("lambdahttp: rest api event: %w", err)
			}
			return rest(ctx, ev)
		}
		return nil, fmt.Errorf("lambdahttp: not an API Gateway proxy event (version %q, httpMethod %q)", probe.Version, probe.HTTPMethod)
	}
}

// HTTPAPI returns a Lambda handler that serves HTTP API events with h.
//
// The request carries the Lambda context, the path parameters API Gateway matched (read
// them with r.PathValue, as under a Go 1.22 ServeMux) and, when the authorizer allowed the
// request, the caller (read it with access.CallerFrom). A request that cannot be rebuilt,
// such as a body that is not valid base64, gets a 400 response rather than an error: an
// error would make API Gateway answer 500 for what is the client's fault.
func HTTPAPI(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := newRequest(ctx, ev)
		if err != nil {
			b := badRequest(err)
			return events.APIGatewayV2HTTPResponse{StatusCode: b.StatusCode, Headers: b.Headers, Body: b.Body}, nil
		}
		w := newResponseWriter()
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

// errBase64Body is the one request error a client can cause through API Gateway.
var errBase64Body = errors.New("body is not valid base64")

// newRequest rebuilds the HTTP request API Gateway received.
func newRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("%w: %w", errBase64Body, err)
		}
	}
	if c, ok := callerOf(ev); ok {
		ctx = access.WithCaller(ctx, c)
	}

	method := ev.RequestContext.HTTP.Method
	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %q request: %w", method, err)
	}
	r.URL = requestURL(ev)
	r.RequestURI = r.URL.RequestURI()
	if major, minor, ok := http.ParseHTTPVersion(ev.RequestContext.HTTP.Protocol); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = ev.RequestContext.HTTP.Protocol, major, minor
	}
	// API Gateway already joined repeated headers with commas, which is also how HTTP
	// says they may be combined, so each stays one value.
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	// Payload 2.0 moves cookies out of the headers into their own list.
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	// As net/http's server does, Host moves from the headers to r.Host.
	r.Host = ev.RequestContext.DomainName
	if r.Host == "" {
		r.Host = r.Header.Get("Host")
	}
	r.Header.Del("Host")
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	return r, nil
}

// requestURL keeps rawPath as sent: when it is percent-encoded the decoded form goes into
// Path and the original into RawPath, as net/http does for a request line.
func requestURL(ev events.APIGatewayV2HTTPRequest) *url.URL {
	raw := ev.RawPath
	if raw == "" {
		raw = ev.RequestContext.HTTP.Path
	}
	if raw == "" {
		raw = "/"
	}
	u := &url.URL{Path: raw, RawQuery: ev.RawQueryString}
	if p, err := url.PathUnescape(raw); err == nil && p != raw {
		u.Path, u.RawPath = p, raw
	}
	return u
}

// callerOf reads the caller the Lambda authorizer put into the request context.
func callerOf(ev events.APIGatewayV2HTTPRequest) (access.Caller, bool) {
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.Lambda == nil {
		return access.Caller{}, false
	}
	return access.CallerFromContext(ev.RequestContext.Authorizer.Lambda)
}

// badRequest is the answer to an event that does not make an HTTP request.
func badRequest(err error) events.APIGatewayProxyResponse {
	msg := "Bad Request"
	if errors.Is(err, errBase64Body) {
		msg = "Bad Request: " + errBase64Body.Error()
	}
	body, _ := json.Marshal(map[string]string{"message": msg})
	return events.APIGatewayProxyResponse{
		StatusCode: http.StatusBadRequest,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

// responseWriter records a handler's response for API Gateway. Like net/http's server it
// fixes the headers when the status is written and sniffs a missing Content-Type, so a
// handler behaves the same here and in the local gateway.
type responseWriter struct {
	header http.Header // what the handler is still changing
	sent   http.Header // header as it was when the status was written
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter {
	return &responseWriter{header: http.Header{}}
}

func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader records the first final status; informational ones cannot be relayed
// through a Lambda response and are dropped.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || code < 200 || code > 999 {
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(p)
}

// response turns what was recorded into the payload 2.0 response. Set-Cookie goes into
// Cookies because a header map holds one value per name; other repeated headers are
// comma-joined. A body that is not UTF-8 text travels base64-encoded.
func (w *responseWriter) response() events.APIGatewayV2HTTPResponse {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	body := w.body.Bytes()
	if _, set := w.sent["Content-Type"]; !set && len(body) > 0 {
		w.sent.Set("Content-Type", http.DetectContentType(body))
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
	for k, vs := range w.sent {
		switch {
		case len(vs) == 0:
		case k == "Set-Cookie":
			res.Cookies = append(res.Cookies, vs...)
		default:
			res.Headers[k] = strings.Join(vs, ",")
		}
	}
	if utf8.Valid(body) {
		res.Body = string(body)
	} else {
		res.Body = base64.StdEncoding.EncodeToString(body)
		res.IsBase64Encoded = true
	}
	return res
}
