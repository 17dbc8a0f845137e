package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/audit"
	"tokengate/shared/email"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// root is a superuser holding every built-in scope; admin holds them too but is no superuser.
var (
	root      = access.Caller{TokenID: "root-token", OwnerID: "root", Scopes: []string{"tokens:read", "tokens:write", "tokens:admin", "audit:read", "emergency:activate"}}
	adminPlus = access.Caller{TokenID: "admin-token", OwnerID: "admin", Scopes: root.Scopes}
)

func history(t *testing.T, e *env, c access.Caller, id string) []map[string]any {
	t.Helper()
	res := e.do(c, "GET", "/tokens/"+id+"/history", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	var out []map[string]any
	for _, it := range res.body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func eventTypes(evs []map[string]any) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e["type"].(string))
	}
	return out
}

func TestHistoryAndAudit(t *testing.T) {
	e := newEnv(t)
	b := e.create(alice, temp("audited"))
	id, secret := b["id"].(string), b["token"].(string)
	e.clock.Add(time.Second)
	require.Equal(t, 200, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": "renamed", "ipAllowlist": []string{"10.0.0.0/8"}, "reason": "office only"}).status)
	e.clock.Add(time.Second)
	rotated := e.do(alice, "POST", "/tokens/"+id+"/rotate", map[string]any{"gracePeriod": "1h"})
	require.Equal(t, 200, rotated.status)
	e.clock.Add(time.Second)
	require.Equal(t, 200, e.do(alice, "POST", "/tokens/"+id+"/disable", map[string]any{"reason": "holiday"}).status)

	h := history(t, e, alice, id)
	require.Equal(t, []string{"disable", "rotate", "update", "create"}, eventTypes(h), "newest first")
	require.Equal(t, "holiday", h[0]["reason"])
	require.Equal(t, "alice", h[0]["actorId"])
	require.Equal(t, "alice-token", h[0]["actorTokenId"])
	require.Contains(t, h[2]["changes"], map[string]any{"field": "name", "from": "audited", "to": "renamed"})
	require.Contains(t, h[2]["changes"], map[string]any{"field": "ipAllowlist", "from": "", "to": "10.0.0.0/8"})
	require.Equal(t, "office only", h[2]["reason"])
	require.Contains(t, h[1]["changes"], map[string]any{"field": "gracePeriod", "from": "", "to": "1h0m0s"})

	raw := e.do(admin, "GET", "/audit?tokenId="+id, nil).raw
	for _, s := range []string{secret, rotated.body["token"].(string)} {
		require.NotContains(t, raw, s[len(s)-30:], "no secret in an audit record")
	}

	t.Run("history is the owner's or an admin's", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, e.do(bob, "GET", "/tokens/"+id+"/history", nil).status)
		require.Len(t, history(t, e, admin, id), 4)
	})
	t.Run("the activity log needs audit:read", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, e.do(alice, "GET", "/audit", nil).status)
	})
	t.Run("filters", func(t *testing.T) {
		e.create(bob, temp("bob's"))
		all := e.do(admin, "GET", "/audit", nil)
		require.Len(t, all.body["items"], 5)
		require.Len(t, e.do(admin, "GET", "/audit?actor=bob", nil).body["items"], 1)
		require.Len(t, e.do(admin, "GET", "/audit?type=rotate", nil).body["items"], 1)
		require.Len(t, e.do(admin, "GET", "/audit?actor=alice&type=create", nil).body["items"], 1)
		since := e.clock.Now().Add(-time.Second).Format(time.RFC3339)
		require.Len(t, e.do(admin, "GET", "/audit?tokenId="+id+"&since="+since, nil).body["items"], 2)
		var got []string
		cursor := ""
		for i := 0; i < 10; i++ {
			q := "/audit?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			res := e.do(admin, "GET", q, nil)
			for _, it := range res.body["items"].([]any) {
				got = append(got, it.(map[string]any)["id"].(string))
			}
			if res.body["nextCursor"] == nil {
				break
			}
			cursor = res.body["nextCursor"].(string)
		}
		require.Len(t, got, 5, "pages cover the log once")
	})
	t.Run("bad filters", func(t *testing.T) {
		for q, field := range map[string]string{"?type=delete": "type", "?since=yesterday": "since", "?limit=0": "limit",
			"?who=x": "who", "?tokenId=nope": "tokenId", "?cursor=zzz": "cursor",
			"?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z": "until"} {
			requireInvalid(t, e.do(admin, "GET", "/audit"+q, nil), field)
		}
	})
}

// TestNoChangeWithoutRecord: a change that fails writes neither the change nor a record,
// and every change that succeeds has exactly one.
func TestNoChangeWithoutRecord(t *testing.T) {
	e := newEnv(t)
	id := e.create(alice, temp("raced"))["id"].(string)
	require.Equal(t, http.StatusConflict, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": "x"}, "If-Match", `"7"`).status)
	requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": ""}), "name")
	require.Len(t, history(t, e, alice, id), 1, "failed changes leave no record")

	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if e.do(alice, "POST", "/tokens/"+id+"/rotate", nil).status == http.StatusOK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, ok, strings.Count(strings.Join(eventTypes(history(t, e, alice, id)), " "), "rotate"),
		"one record per successful rotation, none for the ones that lost the race")
}

func TestApprovals(t *testing.T) {
	e := newEnv(t)
	high := map[string]any{"name": "break glass", "scopes": []string{"emergency:activate"}, "reason": "on-call kit"}
	b := e.create(root, high)
	id, secret := b["id"].(string), b["token"].(string)
	require.Equal(t, "pending", b["status"])
	require.Equal(t, "high", b["risk"])

	q := e.do(admin, "GET", "/approvals", nil)
	require.Equal(t, http.StatusOK, q.status, q.raw)
	require.Equal(t, []string{id}, ids(q.body["items"]))
	require.Equal(t, http.StatusForbidden, e.do(alice, "GET", "/approvals", nil).status)

	res := e.do(root, "POST", "/approvals/"+id+"/approve", nil)
	require.Equal(t, http.StatusForbidden, res.status, "the requester cannot approve its own token")
	require.Equal(t, http.StatusForbidden, e.do(alice, "POST", "/approvals/"+id+"/approve", nil).status)
	res = e.do(admin, "POST", "/approvals/"+id+"/approve", map[string]any{"reason": "checked with root"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "active", res.body["status"])
	require.True(t, e.verifies(secret), "approval activates the secret given at creation")
	require.Equal(t, http.StatusConflict, e.do(admin, "POST", "/approvals/"+id+"/approve", nil).status, "not pending any more")
	require.Empty(t, e.do(admin, "GET", "/approvals", nil).body["items"])

	other := e.create(root, high)["id"].(string)
	res = e.do(admin, "POST", "/approvals/"+other+"/reject", map[string]any{"reason": "not needed"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "rejected", res.body["status"])
	require.Equal(t, []string{"reject", "create"}, eventTypes(history(t, e, admin, other)))
	require.Equal(t, http.StatusNotFound, e.do(admin, "POST", "/approvals/"+strings.Repeat("0", 30)+"/approve", nil).status)
}

func TestEmergencyAccess(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "restricted", "scopes": []string{"tokens:read"}, "ownerId": "alice", "expiresIn": "1m", "ipAllowlist": []string{"10.0.0.1"}}
	id := e.create(admin, body)["id"].(string)
	path := "/tokens/" + id + "/emergency-access"

	requireInvalid(t, e.do(root, "POST", path, map[string]any{"duration": "9h", "reason": "outage"}), "duration")
	requireInvalid(t, e.do(root, "POST", path, map[string]any{"duration": "30m", "reason": "outage"}), "duration")
	requireInvalid(t, e.do(root, "POST", path, map[string]any{"duration": "2h"}), "reason")
	require.Equal(t, http.StatusForbidden, e.do(adminPlus, "POST", path, map[string]any{"duration": "2h", "reason": "outage"}).status, "not a superuser")
	require.Equal(t, http.StatusForbidden, e.do(alice, "POST", path, map[string]any{"duration": "2h", "reason": "outage"}).status)

	res := e.do(root, "POST", path, map[string]any{"duration": "2h", "reason": "VPN down"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, e.clock.Now().Add(2*time.Hour).Format(time.RFC3339), res.body["emergencyAccessUntil"])
	require.Equal(t, []any{"10.0.0.1/32"}, res.body["ipAllowlist"], "restrictions stay; they are lifted only while it lasts")
	e.clock.Add(2 * time.Hour)
	require.Nil(t, e.do(alice, "GET", "/tokens/"+id, nil).body["emergencyAccessUntil"], "ends by itself")

	require.Equal(t, http.StatusOK, e.do(root, "POST", path, map[string]any{"duration": "8h", "reason": "again"}).status)
	res = e.do(root, "DELETE", path, nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Nil(t, res.body["emergencyAccessUntil"])
	h := history(t, e, root, id)
	require.Equal(t, []string{"emergency.off", "emergency.on", "emergency.on", "create"}, eventTypes(h))
	require.Equal(t, "VPN down", h[2]["reason"])
}

// TestIsolation: without tokens:admin, another principal's token is not found on
// every route that names it.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	id := e.create(alice, temp("mine"))["id"].(string)
	for _, r := range []struct{ method, path string }{
		{"GET", ""}, {"PATCH", ""}, {"DELETE", ""}, {"POST", "/rotate"}, {"POST", "/disable"},
		{"POST", "/enable"}, {"GET", "/history"},
	} {
		var body any
		if r.method == "PATCH" {
			body = map[string]any{"name": "bob's now"}
		}
		res := e.do(bob, r.method, "/tokens/"+id+r.path, body)
		require.Equal(t, http.StatusNotFound, res.status, "%s %s: %s", r.method, r.path, res.raw)
	}
	require.Equal(t, "mine", e.do(alice, "GET", "/tokens/"+id, nil).body["name"], "nothing changed")
	require.Len(t, history(t, e, alice, id), 1)
}

func TestLeakedTokens(t *testing.T) {
	e := newEnv(t)
	tb := e.svc.Store.(*store.Table)
	addr := localtest.Address("leak-owner")
	owner := &access.Principal{ID: localtest.Name("leaky"), Email: addr, Scopes: []string{"tokens:read"}, Version: 1}
	require.NoError(t, tb.PutPrincipal(context.Background(), owner, 0))
	valid := e.create(admin, map[string]any{"name": "pasted <in> a gist", "scopes": []string{"tokens:read"}, "ownerId": owner.ID})
	other := e.create(alice, temp("wrong secret"))
	wrong, _ := token.Generate("tg", token.ID(other["id"].(string)), e.svc.Keys, nil)

	route := &api.LeakedRoute{Tokens: e.svc, Rates: tb, Now: e.clock.Now,
		Notifier: &email.LeakNotices{Mailer: &email.Mailer{Client: localtest.SES(t), From: "tokengate@example.com"}, Principals: tb}}
	report := func(ip string, strs ...string) (int, string) {
		b, _ := json.Marshal(map[string]any{"tokens": strs})
		req := httptest.NewRequest("POST", "/leaked-tokens", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		route.ServeHTTP(w, req)
		localtest.CheckResponse(t, req, w.Code, w.Header(), w.Body.Bytes())
		return w.Code, w.Body.String()
	}

	code, withValid := report("198.51.100.1", "garbage", valid["token"].(string), wrong.Plaintext.Reveal(), valid["token"].(string))
	require.Equal(t, http.StatusAccepted, code)
	code, nothing := report("198.51.100.2", "garbage")
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, nothing, withValid, "the answer is the same whether or not anything was valid")

	require.Equal(t, "revoked", e.do(admin, "GET", "/tokens/"+valid["id"].(string), nil).body["status"])
	require.Equal(t, "active", e.do(alice, "GET", "/tokens/"+other["id"].(string), nil).body["status"], "a wrong secret revokes nothing")
	h := history(t, e, admin, valid["id"].(string))
	require.Equal(t, "leaked.revoke", h[0]["type"])
	require.Equal(t, audit.LeakReporter, h[0]["actorId"])

	mails := localtest.Mails(t, addr)
	require.Len(t, mails, 1)
	require.Contains(t, mails[0].Text, valid["id"].(string))
	require.Contains(t, mails[0].HTML, "pasted &lt;in&gt; a gist")
	require.NotContains(t, mails[0].Text+mails[0].HTML, valid["token"].(string)[20:])

	t.Run("the answer takes as long either way", func(t *testing.T) {
		route.AnswerAfter = 300 * time.Millisecond
		defer func() { route.AnswerAfter = 0 }()
		fresh := e.create(admin, map[string]any{"name": "timed", "scopes": []string{"tokens:read"}, "ownerId": owner.ID})
		for _, strs := range [][]string{{"garbage"}, {fresh["token"].(string)}} {
			start := time.Now()
			code, _ := report("198.51.100.9", strs...)
			require.Equal(t, http.StatusAccepted, code)
			require.GreaterOrEqual(t, time.Since(start), route.AnswerAfter)
		}
	})
	t.Run("bounded reports", func(t *testing.T) {
		many := make([]string, 101)
		for i := range many {
			many[i] = fmt.Sprint(i)
		}
		code, _ := report("198.51.100.3", many...)
		require.Equal(t, http.StatusBadRequest, code)
		code, _ = report("198.51.100.3")
		require.Equal(t, http.StatusBadRequest, code)
	})
	t.Run("rate-limited per source address", func(t *testing.T) {
		for i := 0; i < api.LeakReportsPerMinute; i++ {
			code, _ := report("203.0.113.50", "garbage")
			require.Equal(t, http.StatusAccepted, code)
		}
		code, _ := report("203.0.113.50", "garbage")
		require.Equal(t, http.StatusTooManyRequests, code)
		code, _ = report("203.0.113.51", "garbage")
		require.Equal(t, http.StatusAccepted, code, "other addresses are not affected")
	})
}

// TestEscalation: no token ever gets more than its creator holds, whether asked by
// scopes, by role or by owner.
func TestEscalation(t *testing.T) {
	e := newEnv(t)
	cat, err := access.LoadCatalog("../../infra/catalog.json")
	require.NoError(t, err)
	e.svc.Catalog = cat

	withRole := func(role string) map[string]any {
		return map[string]any{"name": "by role", "role": role, "type": "temporary", "reason": "needed"}
	}
	res := e.do(alice, "POST", "/tokens", withRole("viewer"))
	require.Equal(t, http.StatusForbidden, res.status, "viewer has reports:read, which alice does not hold: %s", res.raw)
	require.Contains(t, res.body["detail"], "reports:read")
	requireInvalid(t, e.do(alice, "POST", "/tokens", withRole("no-such-role")), "role")

	res = e.do(admin, "POST", "/tokens", withRole("token-admin"))
	require.Equal(t, http.StatusCreated, res.status, res.raw)
	require.ElementsMatch(t, []any{"tokens:read", "tokens:write", "tokens:admin", "audit:read"}, res.body["scopes"], "a role expands to its scopes")

	res = e.do(admin, "POST", "/tokens", map[string]any{"name": "for alice", "scopes": []string{"tokens:admin"}, "ownerId": "alice", "reason": "r"})
	requireInvalid(t, res, "scopes") // alice does not hold tokens:admin: her token could never use it
	require.Equal(t, http.StatusForbidden, e.do(alice, "POST", "/tokens", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "type": "temporary", "ownerId": "bob"}).status)
	require.Equal(t, http.StatusForbidden, e.do(alice, "POST", "/tokens", map[string]any{"name": "x", "scopes": []string{"tokens:admin"}, "type": "temporary", "reason": "r"}).status)
	require.Len(t, e.do(admin, "GET", "/audit?type=create", nil).body["items"], 1, "only the allowed token was created")
}

// TestSessionOfAnApprovedToken: a temporary token for the caller itself, within
// TEMPORARY_TOKEN_TTL, with scopes its calling token holds (the console's sign-in), needs
// no second approval even when high-risk; anything else high-risk still waits.
func TestSessionOfAnApprovedToken(t *testing.T) {
	e := newEnv(t)
	high := []string{"emergency:activate", "tokens:admin"}
	session := e.create(root, map[string]any{"name": "Console session", "type": "temporary", "scopes": high, "reason": "Console sign-in"})
	require.Equal(t, "active", session["status"])
	require.Equal(t, "high", session["risk"])

	permanent := e.create(root, map[string]any{"name": "kit", "scopes": high, "reason": "on-call"})
	require.Equal(t, "pending", permanent["status"], "a permanent high-risk token still needs a second admin")

	long := e.create(root, map[string]any{"name": "long", "type": "temporary", "expiresAt": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339), "scopes": high, "reason": "x"})
	require.Equal(t, "pending", long["status"], "a temporary token that outlives TEMPORARY_TOKEN_TTL is no session")

	forOther := e.create(root, map[string]any{"name": "for admin", "type": "temporary", "ownerId": "admin", "scopes": []string{"emergency:activate"}, "reason": "x"})
	require.Equal(t, "pending", forOther["status"], "a token for another principal is no session")
}
