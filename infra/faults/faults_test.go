package faults_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/infra/faults"
	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// functionTimeout is the API functions' Timeout in template.yaml (Globals).
const functionTimeout = 10 * time.Second

// fixture is a fresh table with a pepper and the test principals, written directly
// through the local stack, and a fault proxy in front of every dependency.
type fixture struct {
	t     *testing.T
	deps  *faults.Stack
	tb    *store.Table // direct: for setup and checks
	key   string
	svc   *token.Service // direct
	env   func(string) string
	slow  time.Duration // the longest answer under a fault
	slowM sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Parallel()
	f := &fixture{t: t, deps: faults.New(t)}
	f.svc = localtest.Service(t, nil)
	f.tb = f.svc.Store.(*store.Table)
	f.key = localtest.KMSKey(t)
	f.env = f.deps.Getenv(func(k string) string {
		switch k {
		case "TABLE_NAME":
			return f.tb.Name
		case "KMS_KEY_ID":
			return f.key
		}
		return os.Getenv(k)
	})
	return f
}

// settings are the functions' settings, their AWS endpoints behind the fault proxies.
func (f *fixture) settings(extra map[string]string) boot.Settings {
	s, err := boot.LoadSettings(func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		return f.env(k)
	})
	require.NoError(f.t, err)
	return s
}

// timed runs fn and keeps the longest time any call took.
func (f *fixture) timed(fn func()) time.Duration {
	start := time.Now()
	fn()
	d := time.Since(start)
	f.slowM.Lock()
	f.slow = max(f.slow, d)
	f.slowM.Unlock()
	require.Less(f.t, d, functionTimeout-lambdahttp.AnswerMargin, "an answer comes before the function's timeout, with its margin")
	return d
}

func (f *fixture) issue(c access.Caller, name string) token.Created {
	f.t.Helper()
	out, err := f.svc.Create(context.Background(), c, token.CreateInput{Name: name, Scopes: []string{access.TokensRead}, Type: token.TypeTemporary})
	require.NoError(f.t, err)
	return out
}

var alice = access.Caller{TokenID: "alice-token", OwnerID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}}

func authEvent(t *testing.T, tok string) json.RawMessage {
	b, err := json.Marshal(events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /tokens/self",
		Headers: map[string]string{"authorization": "Bearer " + tok}})
	require.NoError(t, err)
	return b
}

// TestAuthorizerFailsClosed: while DynamoDB is down, stalled, throttling, failing or
// resetting, or KMS is down, a token never seen is never allowed, and a token validated
// before the fault is allowed only within its cache bound (AUTH_CACHE_TTL, here 1 s).
func TestAuthorizerFailsClosed(t *testing.T) {
	f := newFixture(t)
	const bound = time.Second
	s := f.settings(map[string]string{"AUTH_CACHE_TTL": bound.String()})
	c, err := boot.NewClients(s)
	require.NoError(t, err)
	p, err := boot.AuthorizerWith(context.Background(), s, c, time.Now)
	require.NoError(t, err)
	require.True(t, p.Ready())

	allowed := func(tok string) bool {
		var out any
		f.timed(func() {
			var err error
			out, err = p.Handle(context.Background(), authEvent(t, tok))
			require.NoError(t, err)
		})
		return out.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized
	}

	faultsOf := []struct {
		name string
		on   func()
	}{
		{"DynamoDB down", func() { f.deps.DynamoDB.Down(t) }},
		{"DynamoDB stalled", func() { f.deps.DynamoDB.Stall(t) }},
		{"DynamoDB throttling", func() { f.deps.DynamoDB.Fail("", faults.DynamoDBThrottling, -1) }},
		{"DynamoDB provisioned throughput", func() { f.deps.DynamoDB.Fail("", faults.DynamoDBProvisioned, -1) }},
		{"DynamoDB internal error", func() { f.deps.DynamoDB.Fail("", faults.DynamoDBInternal, -1) }},
		{"DynamoDB resets answers", func() { f.deps.DynamoDB.ResetAnswers(t) }},
	}
	allows := 0
	for _, fault := range faultsOf {
		t.Run(fault.name, func(t *testing.T) {
			cached, fresh := f.issue(alice, "cached").Plaintext.Reveal(), f.issue(alice, "fresh").Plaintext.Reveal()
			require.True(t, allowed(cached), "validated before the fault")
			validated := time.Now()
			fault.on()
			defer f.deps.Clear(t)
			if allowed(fresh) {
				allows++
				t.Errorf("a token never validated was allowed during %s", fault.name)
			}
			deadline := time.Now().Add(bound + 2*boot.CallBudget)
			for time.Now().Before(deadline) {
				ok := allowed(cached)
				if ok && time.Since(validated) > bound+boot.CallBudget {
					allows++
					t.Errorf("a cached token was allowed %s after its validation, beyond its bound %s", time.Since(validated), bound)
				}
				if !ok && time.Since(validated) > bound {
					return
				}
			}
			t.Errorf("the cached token was still allowed at the end of its bound")
		})
	}
	require.Zero(t, allows)
	t.Logf("allows beyond bounds during faults: %d; longest authorizer answer: %s (function timeout 10 s)", allows, f.slow)
}

// TestKMSDownAtColdStart: with KMS down or failing, neither the authorizer nor an API
// function starts (nothing is allowed or served), and the failure comes within the call
// budget, not at the function's timeout.
func TestKMSDownAtColdStart(t *testing.T) {
	f := newFixture(t)
	localtest.Keyring(t, f.tb) // the pepper exists: only KMS is missing
	s := f.settings(nil)
	for _, fault := range []struct {
		name string
		on   func()
	}{
		{"down", func() { f.deps.KMS.Down(t) }},
		{"internal error", func() { f.deps.KMS.Fail("Decrypt", faults.KMSInternal, -1) }},
		{"stalled", func() { f.deps.KMS.Stall(t) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.on()
			defer f.deps.Clear(t)
			c, err := boot.NewClients(s)
			require.NoError(t, err)
			f.timed(func() {
				_, err = boot.AuthorizerWith(context.Background(), s, c, time.Now)
			})
			require.Error(t, err, "the authorizer does not start without its pepper")
			if fault.name == "stalled" {
				return // the same budget again
			}
			f.timed(func() {
				_, err = boot.LoadWith(context.Background(), s, boot.Issuing)
			})
			require.Error(t, err, "an API function does not start without its pepper")
		})
	}
	t.Logf("longest cold-start failure: %s (budget %s)", f.slow, boot.CallBudget)
}

// TestOutageAnswers503: every management call under a DynamoDB outage answers 503
// problem+json with Retry-After, within the function's timeout.
func TestOutageAnswers503(t *testing.T) {
	f := newFixture(t)
	s := f.settings(nil)
	svcs, err := boot.LoadWith(context.Background(), s, boot.Issuing)
	require.NoError(t, err)
	mine := f.issue(alice, "mine").Token.ID
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.Handler{
		"POST /tokens":              api.CreateToken(svcs),
		"GET /tokens":               api.ListTokens(svcs.Tokens),
		"GET /tokens/{id}":          api.GetToken(svcs.Tokens),
		"POST /tokens/{id}/rotate":  api.RotateToken(svcs),
		"POST /tokens/{id}/disable": api.DisableToken(svcs.Tokens),
		"DELETE /tokens/{id}":       api.RevokeToken(svcs.Tokens),
	} {
		mux.Handle(pattern, h)
	}
	call := func(method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r = r.WithContext(access.WithCaller(r.Context(), alice))
		w := httptest.NewRecorder()
		f.timed(func() { mux.ServeHTTP(w, r) })
		return w
	}
	calls := [][3]string{
		{"POST", "/tokens", `{"name":"x","scopes":["tokens:read"],"type":"temporary"}`},
		{"GET", "/tokens", ""},
		{"GET", "/tokens/" + string(mine), ""},
		{"POST", "/tokens/" + string(mine) + "/rotate", "{}"},
		{"POST", "/tokens/" + string(mine) + "/disable", "{}"},
		{"DELETE", "/tokens/" + string(mine), ""},
	}
	for _, fault := range []struct {
		name string
		on   func()
	}{
		{"down", func() { f.deps.DynamoDB.Down(t) }},
		{"throttling", func() { f.deps.DynamoDB.Fail("", faults.DynamoDBThrottling, -1) }},
		{"internal error", func() { f.deps.DynamoDB.Fail("", faults.DynamoDBInternal, -1) }},
		{"stalled", func() { f.deps.DynamoDB.Stall(t) }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.on()
			defer f.deps.Clear(t)
			for _, c := range calls {
				if fault.name != "down" && c[1] != "/tokens" {
					continue // a read and a create show the others; a stalled call costs the whole budget
				}
				if fault.name == "stalled" && c[0] != "POST" {
					continue
				}
				w := call(c[0], c[1], c[2])
				require.Equal(t, http.StatusServiceUnavailable, w.Code, "%s %s: %s", c[0], c[1], w.Body)
				require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
				require.Equal(t, api.RetryAfter, w.Header().Get("Retry-After"))
			}
		})
	}
	t.Logf("longest answer under a DynamoDB fault: %s (function timeout 10 s, call budget %s)", f.slow, boot.CallBudget)
}

// TestSlowDependencyStillServes: DynamoDB and KMS answering half a second late is slow,
// not down: the attempt timeout does not misfire, a valid token is allowed, a create
// succeeds.
func TestSlowDependencyStillServes(t *testing.T) {
	f := newFixture(t)
	f.deps.DynamoDB.Latency(t, 500)
	f.deps.KMS.Latency(t, 500)
	s := f.settings(nil)
	c, err := boot.NewClients(s)
	require.NoError(t, err)
	p, err := boot.AuthorizerWith(context.Background(), s, c, time.Now)
	require.NoError(t, err, "the pepper loads, slowly")
	tok := f.issue(alice, "slow").Plaintext.Reveal()
	var out any
	f.timed(func() { out, err = p.Handle(context.Background(), authEvent(t, tok)) })
	require.NoError(t, err)
	require.True(t, out.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized)

	svcs, err := boot.LoadWith(context.Background(), s, boot.Issuing)
	require.NoError(t, err)
	r := httptest.NewRequest("POST", "/tokens", strings.NewReader(`{"name":"x","scopes":["tokens:read"],"type":"temporary"}`))
	r.Header.Set("Content-Type", "application/json")
	r = r.WithContext(access.WithCaller(r.Context(), alice))
	w := httptest.NewRecorder()
	f.timed(func() { api.CreateToken(svcs).ServeHTTP(w, r) })
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
}
