package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/access"
)

// REST returns a Lambda handler that serves REST API proxy events (payload format 1.0)
// with h, as Handler does for HTTP API events: path parameters through r.PathValue, the
// caller from the authorizer's context, and a 400 for a body that is not valid base64.
func REST(h http.Handler) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		r, err := newRESTRequest(ctx, ev)
		if err != nil {
			return badRequest(err), nil
		}
		w := newResponseWriter()
		h.ServeHTTP(w, r)
		return w.restResponse(), nil
	}
}

// newRESTRequest rebuilds the HTTP request a REST API received. Repeated headers and
// query parameters come from the multi-value maps, which REST APIs always fill.
func newRESTRequest(ctx context.Context, ev events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("%w: %w", errBase64Body, err)
		}
	}
	if ev.RequestContext.Authorizer != nil {
		if c, ok := access.CallerFromContext(ev.RequestContext.Authorizer); ok {
			ctx = access.WithCaller(ctx, c)
		}
	}
	r, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %q request: %w", ev.HTTPMethod, err)
	}
	path := ev.Path
	if path == "" {
		path = "/"
	}
	r.URL = &url.URL{Path: path, RawQuery: restQuery(ev)}
	if p, err := url.PathUnescape(path); err == nil && p != path {
		r.URL.Path, r.URL.RawPath = p, path
	}
	r.RequestURI = r.URL.RequestURI()
	if major, minor, ok := http.ParseHTTPVersion(ev.RequestContext.Protocol); ok {
		r.Proto, r.ProtoMajor, r.ProtoMinor = ev.RequestContext.Protocol, major, minor
	}
	if len(ev.MultiValueHeaders) > 0 {
		for k, vs := range ev.MultiValueHeaders {
			for _, v := range vs {
				r.Header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			r.Header.Set(k, v)
		}
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = ev.RequestContext.DomainName
	}
	r.Header.Del("Host")
	if ip := ev.RequestContext.Identity.SourceIP; ip != "" {
		r.RemoteAddr = net.JoinHostPort(ip, "0")
	}
	for k, v := range ev.PathParameters {
		r.SetPathValue(k, v)
	}
	return r, nil
}

// restQuery encodes the query parameters, repeated ones in the order they came.
func restQuery(ev events.APIGatewayProxyRequest) string {
	q := url.Values{}
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vs := range ev.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		for _, v := range q[k] {
			if buf.Len() > 0 {
				buf.WriteByte('&')
			}
			buf.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return buf.String()
}

// restResponse turns what was recorded into the REST proxy response: every header in
// multiValueHeaders, so repeated ones (Set-Cookie) survive; a body that is not UTF-8
// text travels base64-encoded.
func (w *responseWriter) restResponse() events.APIGatewayProxyResponse {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	body := w.body.Bytes()
	if _, set := w.sent["Content-Type"]; !set && len(body) > 0 {
		w.sent.Set("Content-Type", http.DetectContentType(body))
	}
	res := events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: map[string][]string{}}
	for k, vs := range w.sent {
		if len(vs) > 0 {
			res.MultiValueHeaders[k] = append([]string(nil), vs...)
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
