package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/iam"
	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/token"
)

// TestRolesAreExact: every function's role in template.yaml allows exactly the calls the
// function makes, neither more nor less. Every function runs as its built bootstrap under
// the Lambda runtime interface emulator, its DynamoDB, KMS and SES calls through a proxy
// that refuses what its role does not allow (a lack fails the test) and records which
// part of the role each call used; a scenario then drives every route through each of
// its paths (own and others' tokens, every status change, approvals, break-glass,
// principals, enrollment, a leak report, the notifier), and every part of every role must
// have been used (an excess fails the test too). The roles are read from the template,
// the calls from the code: no table is kept by hand.
func TestRolesAreExact(t *testing.T) {
	rec := &iam.Record{}
	svc := localtest.Service(t, nil)
	s := inLambdasRecording(t, svc, rec, map[string]string{
		"AUTH_CACHE_TTL": "30s", "USAGE_FLUSH_INTERVAL": "1s", "SES_CONFIGURATION_SET": "tokengate-mail",
		"TOKEN_EXPIRATION_NOTIFIER_BACKOFF_INTERVAL": "24h", "TOKEN_EXPIRATION_DETECTION_WINDOW": "168h",
	})
	srv := httptest.NewServer(s.Handler)
	defer srv.Close()
	ctx := context.Background()
	all := []string{access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate}
	rootC, err := svc.Create(ctx, access.Caller{OwnerID: "root", Scopes: all}, token.CreateInput{Name: "root kit", Scopes: all, Reason: "roles test"})
	require.NoError(t, err)
	_, err = svc.Approve(ctx, localtest.Admin, rootC.Token.ID, "roles test")
	require.NoError(t, err)
	root := rootC.Plaintext.Reveal()
	adminC, err := svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "admin kit", Scopes: localtest.Admin.Scopes, Reason: "roles test"})
	require.NoError(t, err)
	admin := adminC.Plaintext.Reveal()

	var idempotencyKey string // sent as Idempotency-Key while set
	call := func(tok, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		require.Less(t, res.StatusCode, 500, "%s %s: %v", method, path, m)
		return res.StatusCode, m
	}
	ok := func(want int, tok, method, path, body string) map[string]any {
		t.Helper()
		code, m := call(tok, method, path, body)
		require.Equal(t, want, code, "%s %s: %v", method, path, m)
		return m
	}

	// The authorizer: a token and its owner at once, the owner already read, usage
	// counts, a rate limit.
	ok(200, root, "GET", "/tokens/self", "")
	ok(200, admin, "GET", "/tokens/self", "")
	second := ok(201, admin, "POST", "/tokens", `{"name":"second","scopes":["tokens:read"],"expiresIn":"1w","rateLimit":{"limit":100,"per":"minute"}}`)
	ok(200, second["token"].(string), "GET", "/tokens/self", "")
	ok(200, second["token"].(string), "GET", "/demo/echo", "")

	// Tokens: create (own, another's), list, read, change, rotate, status changes.
	ok(201, admin, "POST", "/tokens", `{"name":"for alice","scopes":["tokens:read"],"ownerId":"alice","expiresIn":"1w"}`)
	target := ok(201, admin, "POST", "/tokens", `{"name":"target","scopes":["tokens:read"],"expiresIn":"1w"}`)
	id := target["id"].(string)
	for _, q := range []string{"", "?ownerId=alice", "?status=active", "?expiringWithin=24h"} {
		ok(200, admin, "GET", "/tokens"+q, "")
	}
	ok(200, admin, "GET", "/tokens/"+id, "")
	ok(200, admin, "PATCH", "/tokens/"+id, `{"name":"renamed","ipAllowlist":["127.0.0.1"],"reason":"roles test"}`)
	ok(200, admin, "POST", "/tokens/"+id+"/rotate", `{"gracePeriod":"1m"}`)
	// Sent again under an Idempotency-Key: the key's record is written with the change
	// and read when the same request comes again.
	idempotencyKey = "roles-create"
	ok(201, admin, "POST", "/tokens", `{"name":"once","scopes":["tokens:read"],"expiresIn":"1w"}`)
	ok(409, admin, "POST", "/tokens", `{"name":"once","scopes":["tokens:read"],"expiresIn":"1w"}`)
	idempotencyKey = "roles-rotate"
	ok(200, admin, "POST", "/tokens/"+id+"/rotate", `{"gracePeriod":"1m"}`)
	ok(409, admin, "POST", "/tokens/"+id+"/rotate", `{"gracePeriod":"1m"}`)
	idempotencyKey = ""
	ok(200, admin, "POST", "/tokens/"+id+"/disable", "")
	ok(200, admin, "POST", "/tokens/"+id+"/enable", "")
	ok(200, root, "POST", "/tokens/"+id+"/emergency-access", `{"duration":"1h","reason":"roles test"}`)
	ok(200, root, "DELETE", "/tokens/"+id+"/emergency-access", "")
	ok(200, admin, "GET", "/tokens/"+id+"/history", "")
	ok(204, admin, "DELETE", "/tokens/"+id, "")

	// Approvals: high-risk tokens of root, approved and rejected by admin.
	for _, verdict := range []string{"approve", "reject"} {
		p := ok(201, root, "POST", "/tokens", `{"name":"glass","scopes":["emergency:activate"],"expiresIn":"1w","reason":"roles test"}`)
		ok(200, admin, "GET", "/approvals", "")
		ok(200, admin, "POST", "/approvals/"+p["id"].(string)+"/"+verdict, `{"reason":"roles test"}`)
	}
	// Reuse: a rotated-away secret presented is recorded by the authorizer (audit record,
	// feed entry) and shows in GET /alerts.
	reused := ok(201, admin, "POST", "/tokens", `{"name":"reused","scopes":["tokens:read"],"expiresIn":"1w"}`)
	ok(200, admin, "POST", "/tokens/"+reused["id"].(string)+"/rotate", `{}`)
	ok(401, reused["token"].(string), "GET", "/tokens/self", "")
	ok(200, admin, "GET", "/alerts", "")
	for _, q := range []string{"", "?actor=admin", "?tokenId=" + id} {
		ok(200, admin, "GET", "/audit"+q, "")
	}

	// Principals, enrollment.
	ok(200, admin, "GET", "/principals", "")
	ok(200, admin, "GET", "/principals/alice", "")
	addr := localtest.Address("roles")
	ok(201, root, "POST", "/principals", fmt.Sprintf(`{"id":"dora","name":"Dora","email":%q,"scopes":["tokens:read"]}`, addr))
	ok(200, root, "PATCH", "/principals/dora", `{"name":"Dora D."}`)
	ok(202, root, "POST", "/principals/dora/enrollment", "")
	mails := localtest.Mails(t, addr)
	require.NotEmpty(t, mails)
	enroll := regexp.MustCompile(`tge_[0-9]+_[0-9a-f]{64}`).FindString(mails[len(mails)-1].Text)
	require.NotEmpty(t, enroll, "the enrollment mail holds the secret")
	dora := ok(201, "", "POST", "/enroll", fmt.Sprintf(`{"enrollmentToken":%q}`, enroll))
	ok(200, dora["token"].(string), "GET", "/tokens/self", "")
	ok(201, root, "POST", "/principals", `{"id":"gone","name":"Gone","scopes":["tokens:read"]}`)
	ok(204, root, "DELETE", "/principals/gone", "")

	// A leak report of a valid token: revoked, its owner told.
	leaked := ok(201, admin, "POST", "/tokens", `{"name":"leaked","scopes":["tokens:read"],"expiresIn":"1w"}`)
	ok(202, "", "POST", "/leaked-tokens", fmt.Sprintf(`{"tokens":[%q]}`, leaked["token"].(string)))

	// The run-time settings: read by an admin, changed by a superuser.
	ok(200, admin, "GET", "/settings", "")
	ok(200, root, "PATCH", "/settings", `{"backoff":"12h","reason":"roles test"}`)

	// The catalog, the console.
	ok(200, admin, "GET", "/scopes", "")
	ok(200, admin, "GET", "/roles", "")
	ok(200, "", "GET", "/console", "")

	// The notifier: a token that expires within the detection window.
	soon := time.Now().Add(48 * time.Hour)
	_, err = svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "expiring", Scopes: []string{"tokens:read"}, ExpiresAt: &soon})
	require.NoError(t, err)
	ev, err := os.ReadFile("../../events/notifier.json")
	require.NoError(t, err)
	_, err = s.lambdas.invoke(ctx, "NotifierFunction", json.RawMessage(ev))
	require.NoError(t, err)

	// Usage counts of the authorizer are written after its answers: one more call after
	// the flush interval, then SIGTERM writes the rest.
	time.Sleep(1100 * time.Millisecond)
	ok(200, admin, "GET", "/tokens/self", "")
	s.lambdas.fns[authorizerFunction].stop()

	roles, err := localRoles(localtest.Template(t), localSender)
	require.NoError(t, err)
	exact := 0
	var report strings.Builder
	for _, fn := range localtest.Template(t).Functions {
		want, used := roles.Units(fn), rec.Used(fn)
		if assertSame(t, fn, want, used) {
			exact++
		}
		fmt.Fprintf(&report, "%-26s %d parts of its role, %d used\n", fn, len(want), len(used))
	}
	t.Logf("roles exact: %d of %d\n%s", exact, len(localtest.Template(t).Functions), report.String())
	require.Equal(t, len(localtest.Template(t).Functions), exact, "every role is exact")
}

// assertSame reports, and fails t for, what fn's role allows but it never used (an
// excess) or used without its role (cannot happen: Guard refused it, and the test
// failed there).
func assertSame(t *testing.T, fn string, role, used []string) bool {
	t.Helper()
	var excess, unknown []string
	for _, u := range role {
		if !contains(used, u) {
			excess = append(excess, u)
		}
	}
	for _, u := range used {
		if !contains(role, u) {
			unknown = append(unknown, u)
		}
	}
	if len(excess)+len(unknown) == 0 {
		return true
	}
	t.Errorf("%s: its role allows what it never did: %v; it did what its role names otherwise: %v", fn, excess, unknown)
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
