package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
)

const tokenID = "Xq7Lm2Pa0Ab3xYz9QkLmNoPqRsTuVw"

var (
	goodCaller = access.Caller{TokenID: "Xq7Lm2Pa1Qa2Ws3Ed4Rf5Tg6Yh7Uj8", OwnerID: "admin", Scopes: []string{access.TokensRead}, Risk: access.RiskLow}
	evilCaller = access.Caller{TokenID: "9Zz9Zz9Zz9Zz9Zz9Zz9Zz9", OwnerID: "mallory", Scopes: []string{access.TokensAdmin}, Risk: access.RiskHigh}
)

// answer is what the test handlers report about the request they got.
type answer struct {
	Function string            `json:"function"`
	Values   map[string]string `json:"values"`
	Caller   *access.Caller    `json:"caller"`
}

// echo is a handler standing in for function fn.
func echo(fn string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answer{Function: fn, Values: map[string]string{}}
		for _, name := range []string{"id", "proxy"} {
			if v := r.PathValue(name); v != "" {
				a.Values[name] = v
			}
		}
		if c, ok := access.CallerFrom(r.Context()); ok {
			a.Caller = &c
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
}

func echoAll(routes []samtemplate.Route) map[string]http.Handler {
	handlers := map[string]http.Handler{}
	for _, r := range routes {
		handlers[r.Function] = echo(r.Function)
	}
	return handlers
}

// authorize accepts the bearer token "good", refuses "refused" (a valid token, but not
// here), finds any other not valid, and counts its calls.
func authorize(calls *int) Authorize {
	return func(r *http.Request) (access.Caller, Verdict) {
		*calls++
		switch r.Header.Get("Authorization") {
		case "Bearer good":
			return goodCaller, Allow
		case "Bearer refused":
			return access.Caller{}, Denied
		case "Bearer broken":
			return access.Caller{}, Failed
		}
		return access.Caller{}, Unauthorized
	}
}

var testRoutes = []samtemplate.Route{
	{Method: "GET", Path: "/tokens/{id}", Function: "GetTokenFunction", Authorized: true},
	{Method: "GET", Path: "/tokens/self", Function: "SelfTokenFunction", Authorized: true},
	{Method: "DELETE", Path: "/tokens/{id}", Function: "RevokeTokenFunction", Authorized: true},
	{Method: "GET", Path: "/health", Function: "HealthFunction", Authorized: false},
	{Method: "ANY", Path: "/files/{proxy+}", Function: "FilesFunction", Authorized: false},
}

func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func TestRouting(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		want       *answer // nil: a gateway message
		wantMsg    string
		wantAuth   int // calls of Authorize
	}{
		{
			name: "static segment wins over parameter", method: "GET", path: "/tokens/self", header: map[string]string{"Authorization": "Bearer good"},
			wantStatus: 200, want: &answer{Function: "SelfTokenFunction", Values: map[string]string{}, Caller: &goodCaller}, wantAuth: 1,
		},
		{
			name: "path value reaches the handler", method: "GET", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer good"},
			wantStatus: 200, want: &answer{Function: "GetTokenFunction", Values: map[string]string{"id": tokenID}, Caller: &goodCaller}, wantAuth: 1,
		},
		{
			name: "method selects the function", method: "DELETE", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer good"},
			wantStatus: 200, want: &answer{Function: "RevokeTokenFunction", Values: map[string]string{"id": tokenID}, Caller: &goodCaller}, wantAuth: 1,
		},
		{
			name: "an API key is not the identity source", method: "GET", path: "/tokens/self", header: map[string]string{"X-API-Key": "good"},
			wantStatus: 401, wantMsg: "Unauthorized",
		},
		{
			name: "no credentials", method: "GET", path: "/tokens/self",
			wantStatus: 401, wantMsg: "Unauthorized",
		},
		{
			name: "empty Authorization is no credentials", method: "GET", path: "/tokens/self", header: map[string]string{"Authorization": ""},
			wantStatus: 401, wantMsg: "Unauthorized",
		},
		{
			name: "token not valid", method: "GET", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer bad"},
			wantStatus: 401, wantMsg: "Unauthorized", wantAuth: 1,
		},
		{
			name: "valid token refused here", method: "GET", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer refused"},
			wantStatus: 403, wantMsg: "User is not authorized to access this resource with an explicit deny", wantAuth: 1,
		},
		{
			name: "authorizer failed", method: "GET", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer broken"},
			wantStatus: 500, wantMsg: "Internal server error", wantAuth: 1,
		},
		{
			name: "unknown path", method: "GET", path: "/nope", header: map[string]string{"Authorization": "Bearer good"},
			wantStatus: 403, wantMsg: "Missing Authentication Token",
		},
		{
			name: "known path, other method", method: "POST", path: "/tokens/" + tokenID, header: map[string]string{"Authorization": "Bearer good"},
			wantStatus: 403, wantMsg: "Missing Authentication Token",
		},
		{
			name: "Auth NONE route skips the authorizer", method: "GET", path: "/health",
			wantStatus: 200, want: &answer{Function: "HealthFunction", Values: map[string]string{}},
		},
		{
			name: "Auth NONE route ignores credentials", method: "GET", path: "/health", header: map[string]string{"Authorization": "Bearer bad"},
			wantStatus: 200, want: &answer{Function: "HealthFunction", Values: map[string]string{}},
		},
		{
			name: "ANY greedy route", method: "PUT", path: "/files/a/b/c.txt",
			wantStatus: 200, want: &answer{Function: "FilesFunction", Values: map[string]string{"proxy": "a/b/c.txt"}},
		},
		{
			name: "headers named like the authorizer context change nothing", method: "GET", path: "/health",
			header:     map[string]string{access.KeyTokenID: evilCaller.TokenID, access.KeyOwnerID: evilCaller.OwnerID, access.KeyScopes: "tokens:admin"},
			wantStatus: 200, want: &answer{Function: "HealthFunction", Values: map[string]string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			gw, err := NewWithOptions(testRoutes, echoAll(testRoutes), authorize(&calls), Options{Log: quietLogger(), IdentityHeaders: []string{"Authorization"}})
			require.NoError(t, err)

			req := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)

			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.Equal(t, tt.wantAuth, calls, "Authorize calls")
			if tt.want == nil {
				require.Equal(t, `{"message":"`+tt.wantMsg+`"}`, rec.Body.String())
				return
			}
			var got answer
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, *tt.want, got)
		})
	}
}

// TestInjectedCallerIsDropped puts a caller into the request context before the gateway,
// as a buggy or hostile middleware might: handlers must only ever see the authorizer's.
func TestInjectedCallerIsDropped(t *testing.T) {
	calls := 0
	gw, err := NewWithOptions(testRoutes, echoAll(testRoutes), authorize(&calls), Options{Log: quietLogger(), IdentityHeaders: []string{"Authorization"}})
	require.NoError(t, err)
	inject := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gw.ServeHTTP(w, r.WithContext(access.WithCaller(r.Context(), evilCaller)))
	})

	tests := []struct {
		path   string
		header string
		want   *access.Caller
	}{
		{path: "/health", want: nil},
		{path: "/tokens/self", header: "Bearer good", want: &goodCaller},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			inject.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code)
			var got answer
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, tt.want, got.Caller)
		})
	}
}

func TestNewErrors(t *testing.T) {
	calls := 0
	tests := []struct {
		name     string
		routes   []samtemplate.Route
		handlers map[string]http.Handler
		auth     Authorize
		wantErr  string
	}{
		{
			name: "missing handlers, listed sorted",
			routes: []samtemplate.Route{
				{Method: "GET", Path: "/c", Function: "CFunction"},
				{Method: "GET", Path: "/a", Function: "AFunction"},
				{Method: "POST", Path: "/a", Function: "AFunction"},
				{Method: "GET", Path: "/b", Function: "BFunction"},
			},
			handlers: map[string]http.Handler{"BFunction": echo("BFunction")},
			wantErr:  "no handler for function(s) AFunction, CFunction",
		},
		{
			name:     "authorized route without Authorize",
			routes:   []samtemplate.Route{{Method: "GET", Path: "/a", Function: "AFunction", Authorized: true}},
			handlers: map[string]http.Handler{"AFunction": echo("AFunction")},
			wantErr:  "no Authorize",
		},
		{
			name: "conflicting patterns are an error, not a panic",
			routes: []samtemplate.Route{
				{Method: "GET", Path: "/a/{x}", Function: "AFunction"},
				{Method: "GET", Path: "/{y}/b", Function: "BFunction"},
			},
			handlers: map[string]http.Handler{"AFunction": echo("AFunction"), "BFunction": echo("BFunction")},
			auth:     authorize(&calls),
			wantErr:  "register route GET /{y}/b of BFunction",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw, err := New(tt.routes, tt.handlers, tt.auth)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, gw)
		})
	}
}

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	calls := 0
	gw, err := NewWithLogger(testRoutes, echoAll(testRoutes), authorize(&calls), slog.New(slog.NewJSONHandler(&buf, nil)))
	require.NoError(t, err)

	requests := []struct {
		method, target, auth string
		status               int
		function             string
	}{
		{"GET", "/tokens/" + tokenID + "?secret=query-secret", "Bearer good", 200, "GetTokenFunction"},
		{"GET", "/tokens/self", "Bearer header-secret", 401, "SelfTokenFunction"},
		{"GET", "/nope", "", 403, ""},
	}
	for _, r := range requests {
		req := httptest.NewRequest(r.method, r.target, nil)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		gw.ServeHTTP(httptest.NewRecorder(), req)
	}

	out := buf.String()
	require.NotContains(t, out, "secret", "the log must not carry headers or queries")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, len(requests), "one line per request")
	for i, line := range lines {
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
		want := requests[i]
		require.Equal(t, want.method, entry["method"])
		require.Equal(t, regexp.MustCompile(`\?.*`).ReplaceAllString(want.target, ""), entry["path"])
		require.EqualValues(t, want.status, entry["status"])
		require.Equal(t, want.function, entry["function"])
		require.IsType(t, float64(0), entry["duration_ms"])
	}
}

// TestRealTemplate serves every route of template.yaml: the patterns register without
// conflict and each path reaches its own function.
func TestRealTemplate(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	require.NoError(t, err)
	calls := 0
	gw, err := NewWithLogger(tpl.Routes, echoAll(tpl.Routes), authorize(&calls), quietLogger())
	require.NoError(t, err)

	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, r := range tpl.Routes {
		t.Run(r.Pattern(), func(t *testing.T) {
			method := r.Method
			if method == "ANY" {
				method = http.MethodPut
			}
			req := httptest.NewRequest(method, param.ReplaceAllString(r.Path, tokenID), nil)
			req.Header.Set("Authorization", "Bearer good")
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var got answer
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			require.Equal(t, r.Function, got.Function)
		})
	}
}

// TestTemplateGatewayResponses: refusals answer with the template's gateway responses,
// problem+json with the SPEC's statuses.
func TestTemplateGatewayResponses(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	require.NoError(t, err)
	calls := 0
	gw, err := NewWithOptions(tpl.Routes, echoAll(tpl.Routes), authorize(&calls), Options{
		Responses: tpl.GatewayResponses, IdentityHeaders: tpl.IdentityHeaders, Log: quietLogger(),
	})
	require.NoError(t, err)
	for _, tt := range []struct {
		name, auth, path string
		status           int
		title            string
	}{
		{"no token", "", "/tokens/self", 401, "Unauthorized"},
		{"token not valid", "Bearer bad", "/tokens/self", 401, "Unauthorized"},
		{"valid token refused here", "Bearer refused", "/tokens/self", 403, "Forbidden"},
		{"no such route", "Bearer good", "/nowhere", 404, "Not Found"},
		{"authorizer failed (DEFAULT_5XX)", "Bearer broken", "/tokens/self", 500, "Internal Server Error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			gw.ServeHTTP(rec, req)
			require.Equal(t, tt.status, rec.Code)
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			var p map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
			require.Equal(t, tt.title, p["title"])
			require.EqualValues(t, tt.status, p["status"])
		})
	}
}

func TestDefaultGatewayResponseTemplate(t *testing.T) {
	respond := responses(map[string]samtemplate.GatewayResponse{"DEFAULT_4XX": {
		Headers:  map[string]string{"Content-Type": "application/problem+json"},
		Template: `{"type":"about:blank","title":"x","detail":$context.error.messageString,"kind":"$context.error.responseType"}`,
	}})
	rec := httptest.NewRecorder()
	respond(rec, "THROTTLED")
	require.Equal(t, http.StatusTooManyRequests, rec.Code, "the type's own status when the template names none")
	require.JSONEq(t, `{"type":"about:blank","title":"x","detail":"Too Many Requests","kind":"THROTTLED"}`, rec.Body.String())
}

// TestThrottling: the template's MethodSettings throttle the local gateway too; a request
// over the limit gets the THROTTLED gateway response before the authorizer runs.
func TestThrottling(t *testing.T) {
	tpl, err := samtemplate.Load("../../template.yaml")
	require.NoError(t, err)
	clock := time.Unix(1_800_000_000, 0)
	calls := 0
	gw, err := NewWithOptions(tpl.Routes, echoAll(tpl.Routes), authorize(&calls), Options{
		Responses: tpl.GatewayResponses, Throttles: tpl.Throttles, Log: quietLogger(), Now: func() time.Time { return clock },
	})
	require.NoError(t, err)
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest("POST", "/leaked-tokens", strings.NewReader(`{"tokens":[]}`)))
		return rec
	}
	for i := range 10 { // LeakReportBurstLimit
		require.Equal(t, http.StatusOK, post().Code, "request %d within the burst", i+1)
	}
	rec := post()
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), `"status":429`)
	clock = clock.Add(time.Second) // LeakReportRateLimit: 5 a second
	for range 5 {
		require.Equal(t, http.StatusOK, post().Code)
	}
	require.Equal(t, http.StatusTooManyRequests, post().Code)

	get := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/tokens/self", nil)
	req.Header.Set("Authorization", "Bearer good")
	gw.ServeHTTP(get, req)
	require.Equal(t, http.StatusOK, get.Code, "other routes have the stage's own limit")
}

// TestNoIdentitySource: without identity sources (the template's authorizers, whose
// result cache is off) every request reaches the authorizer, an X-API-Key one too.
func TestNoIdentitySource(t *testing.T) {
	calls := 0
	gw, err := NewWithOptions(testRoutes, echoAll(testRoutes), func(r *http.Request) (access.Caller, Verdict) {
		calls++
		if r.Header.Get("X-API-Key") == "good" {
			return goodCaller, Allow
		}
		return access.Caller{}, Unauthorized
	}, Options{Log: quietLogger()})
	require.NoError(t, err)
	req := httptest.NewRequest("GET", "/tokens/self", nil)
	req.Header.Set("X-API-Key", "good")
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	rec = httptest.NewRecorder()
	gw.ServeHTTP(rec, httptest.NewRequest("GET", "/tokens/self", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "no credentials: the authorizer says 401")
	require.Equal(t, 2, calls)
}
