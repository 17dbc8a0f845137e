package lambdahttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

// sampleCaller is the fake caller every sample event's authorizer context carries.
var sampleCaller = access.Caller{
	TokenID: "Xq7Lm2Pa1Qa2Ws3Ed4Rf5Tg6Yh7Uj8",
	OwnerID: "admin",
	Scopes:  []string{access.TokensRead, access.TokensWrite, access.TokensAdmin},
	Risk:    access.RiskHigh,
}

func loadEvent(t *testing.T, path string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var ev events.APIGatewayV2HTTPRequest
	require.NoError(t, json.Unmarshal(data, &ev))
	return ev
}

// seen is what a handler observed of its request.
type seen struct {
	req    *http.Request
	body   []byte
	caller access.Caller
	ok     bool
}

// invoke runs ev through Handler with a handler that records its request and answers 204.
func invoke(t *testing.T, ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*seen, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	var s *seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		c, ok := access.CallerFrom(r.Context())
		s = &seen{req: r, body: body, caller: c, ok: ok}
		w.WriteHeader(http.StatusNoContent)
	})
	res, err := HTTPAPI(h)(ctx, ev)
	require.NoError(t, err)
	return s, res
}

// TestSampleEvents round-trips every sample HTTP API event: what API Gateway sent is
// what the handler sees. Other samples (authorizer events carry a "type", scheduled ones
// no routeKey) are not requests and are left alone.
func TestSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/httpapi/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		require.NotContains(t, string(raw), "tg_", "%s: sample events must not hold anything like a token", file)
		var kind struct{ RouteKey, Type string }
		require.NoError(t, json.Unmarshal(raw, &kind), file)
		if kind.RouteKey == "" || kind.Type != "" {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			ev := loadEvent(t, file)
			require.Equal(t, "2.0", ev.Version)
			require.Equal(t, "$default", ev.RequestContext.Stage)
			require.Equal(t, ev.RouteKey, ev.RequestContext.RouteKey)
			require.True(t, strings.HasPrefix(ev.RouteKey, ev.RequestContext.HTTP.Method+" "), ev.RouteKey)
			require.Equal(t, ev.RawPath, ev.RequestContext.HTTP.Path)

			type key struct{}
			s, res := invoke(t, context.WithValue(context.Background(), key{}, "lambda"), ev)
			require.Equal(t, http.StatusNoContent, res.StatusCode)
			require.NotNil(t, s)
			r := s.req

			require.Equal(t, "lambda", r.Context().Value(key{}), "the Lambda context reaches the handler")
			require.Equal(t, ev.RequestContext.HTTP.Method, r.Method)
			require.Equal(t, ev.RawPath, r.URL.Path)
			require.Equal(t, ev.RawQueryString, r.URL.RawQuery)
			wantURI := ev.RawPath
			if ev.RawQueryString != "" {
				wantURI += "?" + ev.RawQueryString
			}
			require.Equal(t, wantURI, r.RequestURI)
			for k, v := range ev.QueryStringParameters {
				require.Equal(t, v, r.URL.Query().Get(k), "query %s", k)
			}
			for k, v := range ev.PathParameters {
				require.Equal(t, v, r.PathValue(k), "path value %s", k)
			}
			for k, v := range ev.Headers {
				if k == "host" {
					require.Empty(t, r.Header.Values(k), "Host moves to r.Host")
					continue
				}
				require.Equal(t, []string{v}, r.Header.Values(k), "header %s", k)
			}
			require.Equal(t, ev.RequestContext.DomainName, r.Host)
			require.Equal(t, ev.RequestContext.HTTP.SourceIP+":0", r.RemoteAddr)
			require.Equal(t, "HTTP/1.1", r.Proto)
			require.Equal(t, ev.Body, string(s.body))
			require.Equal(t, int64(len(ev.Body)), r.ContentLength)
			if ev.RequestContext.Authorizer == nil {
				require.False(t, s.ok, "a route without an authorizer has no caller")
				return
			}
			require.True(t, s.ok, "caller from the authorizer context")
			require.Equal(t, sampleCaller, s.caller)
		})
	}
}

func TestRequest(t *testing.T) {
	binary := []byte{0x00, 0xff, 0x10, 'x'}
	tests := []struct {
		name   string
		modify func(ev *events.APIGatewayV2HTTPRequest)
		check  func(t *testing.T, s *seen)
	}{
		{
			name: "base64 body is decoded",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(binary), true
			},
			check: func(t *testing.T, s *seen) {
				require.Equal(t, binary, s.body)
				require.Equal(t, int64(len(binary)), s.req.ContentLength)
			},
		},
		{
			name:   "cookies become one Cookie header",
			modify: func(ev *events.APIGatewayV2HTTPRequest) { ev.Cookies = []string{"a=1", "b=two"} },
			check: func(t *testing.T, s *seen) {
				require.Equal(t, []string{"a=1; b=two"}, s.req.Header.Values("Cookie"))
				c, err := s.req.Cookie("b")
				require.NoError(t, err)
				require.Equal(t, "two", c.Value)
			},
		},
		{
			name:   "comma-joined header stays one value",
			modify: func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["accept"] = "text/plain,application/json" },
			check: func(t *testing.T, s *seen) {
				require.Equal(t, []string{"text/plain,application/json"}, s.req.Header.Values("Accept"))
			},
		},
		{
			name: "query with repeated keys",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawQueryString = "status=active&status=disabled&limit=5"
			},
			check: func(t *testing.T, s *seen) {
				require.Equal(t, []string{"active", "disabled"}, s.req.URL.Query()["status"])
				require.Equal(t, "5", s.req.URL.Query().Get("limit"))
			},
		},
		{
			name: "percent-encoded path",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath = "/files/a%2Fb%20c"
				ev.PathParameters = map[string]string{"name": "a/b c"}
			},
			check: func(t *testing.T, s *seen) {
				require.Equal(t, "/files/a/b c", s.req.URL.Path)
				require.Equal(t, "/files/a%2Fb%20c", s.req.URL.EscapedPath())
				require.Equal(t, "a/b c", s.req.PathValue("name"))
			},
		},
		{
			name:   "no authorizer, no caller",
			modify: func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.Authorizer = nil },
			check:  func(t *testing.T, s *seen) { require.False(t, s.ok) },
		},
		{
			name: "incomplete authorizer context, no caller",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
					Lambda: map[string]any{access.KeyTokenID: sampleCaller.TokenID, access.KeyOwnerID: 42},
				}
			},
			check: func(t *testing.T, s *seen) { require.False(t, s.ok) },
		},
		{
			name: "Host header when the domain name is missing",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.DomainName = ""
				ev.Headers["host"] = "api.example.com"
			},
			check: func(t *testing.T, s *seen) { require.Equal(t, "api.example.com", s.req.Host) },
		},
		{
			name: "IPv6 source",
			modify: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RequestContext.HTTP.SourceIP = "2001:db8::7"
			},
			check: func(t *testing.T, s *seen) { require.Equal(t, "[2001:db8::7]:0", s.req.RemoteAddr) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t, "../../events/httpapi/gettoken.json")
			tt.modify(&ev)
			s, res := invoke(t, context.Background(), ev)
			require.Equal(t, http.StatusNoContent, res.StatusCode)
			require.NotNil(t, s)
			tt.check(t, s)
		})
	}
}

func TestBadBase64Body(t *testing.T) {
	ev := loadEvent(t, "../../events/httpapi/createtoken.json")
	ev.IsBase64Encoded = true // the body is plain JSON, not base64
	called := false
	res, err := HTTPAPI(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
	require.NoError(t, err)
	require.False(t, called)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Equal(t, "application/json", res.Headers["Content-Type"])
	require.JSONEq(t, `{"message":"Bad Request: body is not valid base64"}`, res.Body)
}

func TestResponse(t *testing.T) {
	binary := []byte{0xff, 0xfe, 0x00, 0x01}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    events.APIGatewayV2HTTPResponse
	}{
		{
			name:    "nothing written is 200 with no body",
			handler: func(http.ResponseWriter, *http.Request) {},
			want:    events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{}},
		},
		{
			name: "status, headers and body",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Location", "/tokens/Xq7Lm2Pa0Ab3xYz9QkLmNoPqRsTuVw")
				w.Header().Add("Vary", "Accept")
				w.Header().Add("Vary", "Origin")
				w.WriteHeader(http.StatusCreated)
				w.Header().Set("X-Too-Late", "1") // ignored, as net/http would
				_, _ = io.WriteString(w, `{"id":"Xq7Lm2Pa0Ab3xYz9QkLmNoPqRsTuVw"}`)
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusCreated,
				Headers:    map[string]string{"Content-Type": "application/json", "Location": "/tokens/Xq7Lm2Pa0Ab3xYz9QkLmNoPqRsTuVw", "Vary": "Accept,Origin"},
				Body:       `{"id":"Xq7Lm2Pa0Ab3xYz9QkLmNoPqRsTuVw"}`,
			},
		},
		{
			name: "Set-Cookie goes to Cookies",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
				http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", HttpOnly: true})
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "ok")
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"Content-Type": "text/plain"},
				Cookies:    []string{"a=1", "b=2; HttpOnly"},
				Body:       "ok",
			},
		},
		{
			name: "binary body is base64",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(binary)
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode:      http.StatusOK,
				Headers:         map[string]string{"Content-Type": "application/octet-stream"},
				Body:            base64.StdEncoding.EncodeToString(binary),
				IsBase64Encoded: true,
			},
		},
		{
			name:    "missing Content-Type is sniffed as net/http does",
			handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") },
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusOK,
				Headers:    map[string]string{"Content-Type": "text/plain; charset=utf-8"},
				Body:       "hello",
			},
		},
		{
			name: "informational status is skipped, first final one wins",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusAccepted)
				w.WriteHeader(http.StatusInternalServerError)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: http.StatusAccepted, Headers: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t, "../../events/httpapi/selftoken.json")
			res, err := HTTPAPI(tt.handler)(context.Background(), ev)
			require.NoError(t, err)
			require.Equal(t, tt.want, res)
		})
	}
}
