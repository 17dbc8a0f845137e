package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// env is the management API on a fresh table, with the caller of each request chosen by
// the test (the authorizer has its own tests).
type env struct {
	t     *testing.T
	svc   *token.Service
	clock *localtest.Clock
	mux   *http.ServeMux
}

func newEnv(t *testing.T) *env {
	t.Parallel()
	clock := localtest.NewClock(time.Now().UTC().Truncate(time.Second))
	svc := localtest.Service(t, clock.Now)
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.Handler{
		"POST /tokens":                         api.CreateToken(api.Issuing{Tokens: svc}),
		"GET /tokens":                          api.ListTokens(svc),
		"GET /tokens/self":                     api.SelfToken(svc),
		"GET /tokens/{id}":                     api.GetToken(svc),
		"PATCH /tokens/{id}":                   api.UpdateToken(svc),
		"POST /tokens/{id}/rotate":             api.RotateToken(api.Issuing{Tokens: svc}),
		"POST /tokens/{id}/disable":            api.DisableToken(svc),
		"POST /tokens/{id}/enable":             api.EnableToken(svc),
		"DELETE /tokens/{id}":                  api.RevokeToken(svc),
		"GET /tokens/{id}/history":             api.TokenHistory(svc),
		"GET /audit":                           api.AuditLog(svc),
		"GET /approvals":                       api.ListApprovals(svc),
		"POST /approvals/{id}/approve":         api.ApproveToken(svc),
		"POST /approvals/{id}/reject":          api.RejectToken(svc),
		"POST /tokens/{id}/emergency-access":   api.EmergencyOn(svc),
		"DELETE /tokens/{id}/emergency-access": api.EmergencyOff(svc),
	} {
		mux.Handle(pattern, h)
	}
	return &env{t: t, svc: svc, clock: clock, mux: mux}
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(c access.Caller, method, path string, body any, headers ...string) result {
	e.t.Helper()
	var r io.Reader
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		r, sent = strings.NewReader(b), []byte(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		r, sent = bytes.NewReader(j), j
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c.OwnerID != "" {
		req = req.WithContext(access.WithCaller(req.Context(), c))
	}
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, req)
	localtest.CheckResponse(e.t, req, w.Code, w.Header(), w.Body.Bytes())
	localtest.CheckRequestBody(e.t, req, sent, w.Code, w.Body.Bytes())
	res := result{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/") && w.Body.Len() > 0 {
		require.NoError(e.t, json.Unmarshal(w.Body.Bytes(), &res.body), w.Body.String())
	}
	return res
}

// create makes a token as c and returns its body.
func (e *env) create(c access.Caller, body map[string]any) map[string]any {
	e.t.Helper()
	res := e.do(c, "POST", "/tokens", body)
	require.Equal(e.t, http.StatusCreated, res.status, res.raw)
	return res.body
}

var (
	admin = localtest.Admin
	alice = access.Caller{TokenID: "alice-token", OwnerID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}}
	bob   = access.Caller{TokenID: "bob-token", OwnerID: "bob", Scopes: []string{access.TokensRead, access.TokensWrite}}
	// reader can only read.
	reader = access.Caller{TokenID: "reader-token", OwnerID: "alice", Scopes: []string{access.TokensRead}}
)

func temp(name string) map[string]any {
	return map[string]any{"name": name, "scopes": []string{"tokens:read"}, "type": "temporary"}
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	t.Run("OK", func(t *testing.T) {
		res := e.do(admin, "POST", "/tokens", map[string]any{"name": "ci-deploy", "description": "deploys", "scopes": []string{"tokens:read"}, "expiresIn": "1m"})
		require.Equal(t, http.StatusCreated, res.status, res.raw)
		b := res.body
		secret := b["token"].(string)
		require.True(t, strings.HasPrefix(secret, "tg_"+b["id"].(string)+"_"))
		require.Equal(t, "tg_…"+secret[len(secret)-4:], b["hint"])
		require.Equal(t, "/tokens/"+b["id"].(string), res.header.Get("Location"))
		require.Equal(t, "active", b["status"])
		require.Equal(t, "permanent", b["type"])
		require.Equal(t, "admin", b["ownerId"])
		require.Equal(t, "low", b["risk"])
		require.Nil(t, b["lastUsedAt"], "null until first use")
		require.EqualValues(t, 0, b["useCount"])
		require.Equal(t, now.AddDate(0, 1, 0).Format(time.RFC3339), b["expiresAt"])
		require.Equal(t, "no-store", res.header.Get("Cache-Control"))

		got := e.do(admin, "GET", "/tokens/"+b["id"].(string), nil)
		require.Equal(t, http.StatusOK, got.status)
		require.NotContains(t, got.raw, secret[len(secret)-20:], "the secret is returned once only")
		require.NotContains(t, got.body, "token")
	})
	t.Run("DefaultExpiry", func(t *testing.T) {
		b := e.create(admin, map[string]any{"name": "perm", "scopes": []string{"tokens:read"}})
		require.Equal(t, now.AddDate(1, 0, 0).Format(time.RFC3339), b["expiresAt"], "permanent: one year")
		b = e.create(alice, temp("tmp"))
		require.Equal(t, now.Add(time.Hour).Format(time.RFC3339), b["expiresAt"], "temporary: TEMPORARY_TOKEN_TTL")
		require.Equal(t, "temporary", b["type"])
	})
	t.Run("ExpiresAt", func(t *testing.T) {
		at := now.Add(72 * time.Hour).Format(time.RFC3339)
		b := e.create(admin, map[string]any{"name": "dated", "scopes": []string{"tokens:read"}, "expiresAt": at})
		require.Equal(t, at, b["expiresAt"])
	})
	t.Run("MediumRiskNeedsReason", func(t *testing.T) {
		res := e.do(admin, "POST", "/tokens", map[string]any{"name": "adm", "scopes": []string{"tokens:admin"}})
		requireInvalid(t, res, "reason")
		b := e.create(admin, map[string]any{"name": "adm", "scopes": []string{"tokens:admin"}, "reason": "ops rota"})
		require.Equal(t, "medium", b["risk"])
	})
	t.Run("ForAnotherOwner", func(t *testing.T) {
		b := e.create(admin, map[string]any{"name": "for bob", "scopes": []string{"tokens:read"}, "ownerId": "bob"})
		require.Equal(t, "bob", b["ownerId"])
		require.Equal(t, "admin", b["createdBy"])
	})
}

func requireInvalid(t *testing.T, res result, fields ...string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, res.status, res.raw)
	require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	require.Equal(t, "Bad Request", res.body["title"])
	require.EqualValues(t, 400, res.body["status"])
	var got []string
	for _, f := range res.body["errors"].([]any) {
		got = append(got, f.(map[string]any)["field"].(string))
		require.NotEmpty(t, f.(map[string]any)["message"])
	}
	for _, f := range fields {
		require.Contains(t, got, f, res.raw)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	future := e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	tests := []struct {
		name   string
		body   any
		fields []string
	}{
		{"malformed JSON", `{"name": "x",`, []string{""}},
		{"not an object", `["x"]`, []string{""}},
		{"two objects", `{"name":"a","scopes":["tokens:read"]} {}`, []string{""}},
		{"empty body", ``, []string{""}},
		{"unknown field", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "color": "red"}, []string{"color"}},
		{"name of the wrong type", map[string]any{"name": 42, "scopes": []string{"tokens:read"}}, []string{"name"}},
		{"scopes of the wrong type", map[string]any{"name": "x", "scopes": "tokens:read"}, []string{"scopes"}},
		{"no name", map[string]any{"scopes": []string{"tokens:read"}}, []string{"name"}},
		{"empty name", map[string]any{"name": "", "scopes": []string{"tokens:read"}}, []string{"name"}},
		{"blank name", map[string]any{"name": "   ", "scopes": []string{"tokens:read"}}, []string{"name"}},
		{"name of 101 characters", map[string]any{"name": strings.Repeat("é", 101), "scopes": []string{"tokens:read"}}, []string{"name"}},
		{"control character in name", map[string]any{"name": "a\x07b", "scopes": []string{"tokens:read"}}, []string{"name"}},
		{"description of 501 characters", map[string]any{"name": "x", "description": strings.Repeat("d", 501), "scopes": []string{"tokens:read"}}, []string{"description"}},
		{"no scopes", map[string]any{"name": "x"}, []string{"scopes"}},
		{"empty scopes", map[string]any{"name": "x", "scopes": []string{}}, []string{"scopes"}},
		{"unknown scope", map[string]any{"name": "x", "scopes": []string{"tokens:read", "root"}}, []string{"scopes"}},
		{"expiry in the past", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresAt": "2001-01-01T00:00:00Z"}, []string{"expiresAt"}},
		{"expiry beyond the maximum", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresAt": e.clock.Now().AddDate(3, 0, 0).Format(time.RFC3339)}, []string{"expiresAt"}},
		{"expiry not RFC 3339", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresAt": "tomorrow"}, []string{"expiresAt"}},
		{"unknown preset", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresIn": "2w"}, []string{"expiresIn"}},
		{"never under a maximum lifetime", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresIn": "never"}, []string{"expiresIn"}},
		{"both expiresIn and expiresAt", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "expiresIn": "1w", "expiresAt": future}, []string{"expiresAt"}},
		{"unknown type", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "type": "forever"}, []string{"type"}},
		{"bad owner id", map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "ownerId": "no spaces allowed"}, []string{"ownerId"}},
		{"every problem at once", map[string]any{"name": "", "scopes": []string{"nope"}, "expiresIn": "2d"}, []string{"name", "scopes", "expiresIn"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireInvalid(t, e.do(admin, "POST", "/tokens", tt.body), tt.fields...)
		})
	}
	t.Run("body over 64 KiB", func(t *testing.T) {
		big := map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "description": strings.Repeat("a", 70<<10)}
		res := e.do(admin, "POST", "/tokens", big)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.status, res.raw)
		require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	})
	// JSON only: what a browser may post cross-site without asking (form-encoded, text,
	// multipart) and a body with no type at all are 415, and nothing is written.
	for _, ct := range []string{"multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain", "", "application/jsonx", "text/json"} {
		t.Run("media type "+strconv.Quote(ct), func(t *testing.T) {
			res := e.do(admin, "POST", "/tokens", `{"name":"x","scopes":["tokens:read"],"expiresIn":"1w"}`, "Content-Type", ct)
			require.Equal(t, http.StatusUnsupportedMediaType, res.status, res.raw)
			require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
			require.Contains(t, res.raw, "Content-Type: application/json")
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		require.Empty(t, list(t, e, admin, "")["items"])
	})
}

func TestCreatePermissions(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		caller access.Caller
		body   map[string]any
	}{
		{"permanent tokens need tokens:admin", alice, map[string]any{"name": "x", "scopes": []string{"tokens:read"}}},
		{"scopes the creator does not hold", alice, map[string]any{"name": "x", "scopes": []string{"tokens:admin"}, "type": "temporary", "reason": "r"}},
		{"another owner needs tokens:admin", alice, map[string]any{"name": "x", "scopes": []string{"tokens:read"}, "type": "temporary", "ownerId": "bob"}},
		{"creating needs tokens:write", reader, temp("x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.caller, "POST", "/tokens", tt.body)
			require.Equal(t, http.StatusForbidden, res.status, res.raw)
			require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
		})
	}
	require.Empty(t, list(t, e, admin, "")["items"], "nothing was written")
	b := e.create(alice, temp("self-service"))
	require.Equal(t, "alice", b["ownerId"])
	t.Run("no caller", func(t *testing.T) {
		res := e.do(access.Caller{}, "POST", "/tokens", temp("x"))
		require.Equal(t, http.StatusUnauthorized, res.status)
	})
}

func list(t *testing.T, e *env, c access.Caller, query string) map[string]any {
	t.Helper()
	res := e.do(c, "GET", "/tokens"+query, nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	return res.body
}

func ids(items any) []string {
	var out []string
	for _, it := range items.([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestList(t *testing.T) {
	e := newEnv(t)
	var aliceIDs []string
	for i := 0; i < 5; i++ {
		aliceIDs = append(aliceIDs, e.create(alice, temp(fmt.Sprintf("a%d", i)))["id"].(string))
		e.clock.Add(time.Second)
	}
	bobID := e.create(bob, temp("b"))["id"].(string)

	t.Run("pages newest first", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			b := list(t, e, alice, q)
			require.LessOrEqual(t, len(b["items"].([]any)), 2)
			got = append(got, ids(b["items"])...)
			if b["nextCursor"] == nil {
				break
			}
			cursor = b["nextCursor"].(string)
		}
		want := append([]string(nil), aliceIDs...)
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		require.Equal(t, want, got)
	})
	t.Run("only your own without tokens:admin", func(t *testing.T) {
		require.NotContains(t, ids(list(t, e, alice, "")["items"]), bobID)
		res := e.do(alice, "GET", "/tokens?ownerId=bob", nil)
		require.Equal(t, http.StatusForbidden, res.status)
	})
	t.Run("admin sees all and filters by owner", func(t *testing.T) {
		require.Len(t, list(t, e, admin, "")["items"], 6)
		require.Equal(t, []string{bobID}, ids(list(t, e, admin, "?ownerId=bob")["items"]))
	})
	t.Run("status filter", func(t *testing.T) {
		require.Equal(t, http.StatusOK, e.do(alice, "POST", "/tokens/"+aliceIDs[0]+"/disable", nil).status)
		require.Equal(t, []string{aliceIDs[0]}, ids(list(t, e, alice, "?status=disabled")["items"]))
		require.Len(t, list(t, e, alice, "?status=active")["items"], 4)
	})
	t.Run("expiringWithin and derived expiry", func(t *testing.T) {
		require.Len(t, list(t, e, alice, "?expiringWithin=2h")["items"], 5)
		require.Empty(t, list(t, e, alice, "?expiringWithin=30m")["items"])
		e.clock.Add(2 * time.Hour) // temporary tokens live 1h
		require.Len(t, list(t, e, alice, "?status=expired")["items"], 5)
		e.clock.Add(-2 * time.Hour)
	})
	t.Run("bad parameters", func(t *testing.T) {
		for q, field := range map[string]string{
			"?limit=0": "limit", "?limit=101": "limit", "?limit=ten": "limit",
			"?cursor=garbage": "cursor", "?status=sleeping": "status",
			"?expiringWithin=7d": "expiringWithin", "?sort=name": "sort",
		} {
			requireInvalid(t, e.do(alice, "GET", "/tokens"+q, nil), field)
		}
	})
	t.Run("a cursor of another listing", func(t *testing.T) {
		c := list(t, e, admin, "?limit=1")["nextCursor"].(string)
		requireInvalid(t, e.do(alice, "GET", "/tokens?cursor="+c, nil), "cursor")
	})
}

func TestGetAndSelf(t *testing.T) {
	e := newEnv(t)
	b := e.create(alice, temp("mine"))
	id := b["id"].(string)
	require.Equal(t, http.StatusOK, e.do(alice, "GET", "/tokens/"+id, nil).status)
	require.Equal(t, http.StatusOK, e.do(admin, "GET", "/tokens/"+id, nil).status)
	res := e.do(bob, "GET", "/tokens/"+id, nil)
	require.Equal(t, http.StatusNotFound, res.status, "another principal's token is not found")
	require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
	require.Equal(t, http.StatusNotFound, e.do(alice, "GET", "/tokens/000000000000000000000000000000", nil).status)
	require.Equal(t, http.StatusNotFound, e.do(alice, "GET", "/tokens/not-an-id", nil).status)

	self := e.do(access.Caller{TokenID: id, OwnerID: "alice"}, "GET", "/tokens/self", nil)
	require.Equal(t, http.StatusOK, self.status, "self needs no scope")
	require.Equal(t, id, self.body["id"])
	require.Equal(t, []any{"tokens:read"}, self.body["scopes"])
	require.Equal(t, map[string]any{
		"maxLifetime": "8760h0m0s", "neverAllowed": false, "permanentTokensAdminOnly": true,
		"temporaryTokenTtl": "1h0m0s", "maxTemporaryTokenLifetime": "12h0m0s",
	}, self.body["policy"], "the lifetime policy, so a client offers only what the API accepts")
}

func TestUpdate(t *testing.T) {
	e := newEnv(t)
	id := e.create(alice, temp("before"))["id"].(string)
	res := e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": "after", "description": "new words"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "after", res.body["name"])
	require.Equal(t, "new words", res.body["description"])
	require.EqualValues(t, 2, res.body["version"])

	requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{}), "")
	requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": ""}), "name")
	requireInvalid(t, e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"scopes": []string{"tokens:admin"}}), "scopes")
	require.Equal(t, http.StatusNotFound, e.do(bob, "PATCH", "/tokens/"+id, map[string]any{"name": "mine now"}).status)
	require.Equal(t, http.StatusForbidden, e.do(reader, "PATCH", "/tokens/"+id, map[string]any{"name": "x"}).status)

	stale := e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": "late"}, "If-Match", `"1"`)
	require.Equal(t, http.StatusConflict, stale.status, "If-Match with an old version")
	require.Equal(t, "after", e.do(alice, "GET", "/tokens/"+id, nil).body["name"], "nothing changed")
	ok := e.do(alice, "PATCH", "/tokens/"+id, map[string]any{"name": "fresh"}, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, ok.status, ok.raw)
}

// verifies reports whether the token string s is accepted by the stored token now.
func (e *env) verifies(s string) bool {
	e.t.Helper()
	id, secret, err := token.Parse(token.DefaultPrefix, s)
	require.NoError(e.t, err)
	tok, err := e.svc.Store.Get(context.Background(), id)
	require.NoError(e.t, err)
	return tok.Verify(e.svc.Keys, secret, e.clock.Now())
}

func TestRotate(t *testing.T) {
	e := newEnv(t)
	b := e.create(alice, temp("rot"))
	id, old := b["id"].(string), b["token"].(string)
	require.True(t, e.verifies(old))

	res := e.do(alice, "POST", "/tokens/"+id+"/rotate", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	fresh := res.body["token"].(string)
	require.NotEqual(t, old, fresh)
	require.Equal(t, id, res.body["id"], "same id")
	require.True(t, e.verifies(fresh))
	require.False(t, e.verifies(old), "without a grace period the old secret stops at once")

	res = e.do(alice, "POST", "/tokens/"+id+"/rotate", map[string]any{"gracePeriod": "90m"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	newest := res.body["token"].(string)
	require.NotNil(t, res.body["rotationGraceUntil"])
	require.True(t, e.verifies(newest))
	require.True(t, e.verifies(fresh), "the old secret works during the grace period")
	e.clock.Add(91 * time.Minute)
	require.False(t, e.verifies(fresh), "and stops after it")
	require.True(t, e.verifies(newest))

	t.Run("a new expiry", func(t *testing.T) {
		b := e.create(admin, map[string]any{"name": "dated", "scopes": []string{"tokens:read"}, "expiresIn": "1m"})
		path := "/tokens/" + b["id"].(string) + "/rotate"
		res := e.do(admin, "POST", path, nil)
		require.Equal(t, b["expiresAt"], res.body["expiresAt"], "a rotation alone keeps the expiry")
		res = e.do(admin, "POST", path, map[string]any{"expiresIn": "1y"})
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Equal(t, e.clock.Now().AddDate(1, 0, 0).Format(time.RFC3339), res.body["expiresAt"])
		requireInvalid(t, e.do(admin, "POST", path, map[string]any{"expiresIn": "5y"}), "expiresIn")
		requireInvalid(t, e.do(admin, "POST", path, map[string]any{"expiresAt": "2001-01-01T00:00:00Z"}), "expiresAt")
	})
	requireInvalid(t, e.do(alice, "POST", "/tokens/"+id+"/rotate", map[string]any{"gracePeriod": "25h"}), "gracePeriod")
	requireInvalid(t, e.do(alice, "POST", "/tokens/"+id+"/rotate", map[string]any{"gracePeriod": "soon"}), "gracePeriod")
	requireInvalid(t, e.do(alice, "POST", "/tokens/"+id+"/rotate", map[string]any{"grace": "1h"}), "grace")
	require.Equal(t, http.StatusNotFound, e.do(bob, "POST", "/tokens/"+id+"/rotate", nil).status)
}

func TestConcurrentRotations(t *testing.T) {
	e := newEnv(t)
	id := e.create(alice, temp("raced"))["id"].(string)
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     = map[float64]string{} // version -> secret
		results = map[int]int{}
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := e.do(alice, "POST", "/tokens/"+id+"/rotate", nil)
			mu.Lock()
			defer mu.Unlock()
			results[res.status]++
			if res.status == http.StatusOK {
				won[res.body["version"].(float64)] = res.body["token"].(string)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, n, results[http.StatusOK]+results[http.StatusConflict], "each answers 200 or 409: %v", results)
	require.NotZero(t, results[http.StatusOK])
	require.Len(t, won, results[http.StatusOK], "no two successes wrote the same version")
	last := 0.0
	for v := range won {
		last = max(last, v)
	}
	for v, s := range won {
		require.Equal(t, v == last, e.verifies(s), "exactly the secret of the last successful rotation works")
	}
}

func TestStatusChanges(t *testing.T) {
	e := newEnv(t)
	id := e.create(alice, temp("life"))["id"].(string)
	path := "/tokens/" + id
	step := func(method, suffix string, want int, status string) {
		t.Helper()
		res := e.do(alice, method, path+suffix, nil)
		require.Equal(t, want, res.status, res.raw)
		if status != "" {
			require.Equal(t, status, e.do(alice, "GET", path, nil).body["status"])
		}
	}
	step("POST", "/disable", 200, "disabled")
	step("POST", "/disable", 200, "disabled") // idempotent
	step("POST", "/enable", 200, "active")
	step("POST", "/enable", 200, "active")
	require.Equal(t, http.StatusNotFound, e.do(bob, "POST", path+"/disable", nil).status)
	require.Equal(t, http.StatusNotFound, e.do(bob, "DELETE", path, nil).status)
	step("DELETE", "", 204, "revoked")
	step("DELETE", "", 204, "revoked") // idempotent
	step("POST", "/enable", 409, "revoked")
	step("POST", "/disable", 409, "revoked")
	step("POST", "/rotate", 409, "revoked")
	res := e.do(alice, "GET", path, nil)
	require.NotNil(t, res.body["endedAt"])
	require.Equal(t, http.StatusNotFound, e.do(alice, "POST", "/tokens/000000000000000000000000000000/disable", nil).status)
	requireInvalid(t, e.do(alice, "POST", path+"/disable", map[string]any{"why": "x"}), "why")
}

// TestNoSecretInTable reads every item of the table raw and looks for any trace of the
// token strings handed out: the whole string, its secret part, or the secret's bytes.
func TestNoSecretInTable(t *testing.T) {
	e := newEnv(t)
	var secrets []string
	b := e.create(admin, map[string]any{"name": "s1", "scopes": []string{"tokens:read"}, "description": "d"})
	secrets = append(secrets, b["token"].(string))
	id := b["id"].(string)
	secrets = append(secrets, e.do(admin, "POST", "/tokens/"+id+"/rotate", map[string]any{"gracePeriod": "1h"}).body["token"].(string))
	secrets = append(secrets, e.create(alice, temp("s2"))["token"].(string))
	e.do(admin, "DELETE", "/tokens/"+id, nil)

	tb := e.svc.Store.(*store.Table)
	out, err := tb.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(tb.Name)})
	require.NoError(t, err)
	require.NotEmpty(t, out.Items)
	for _, s := range secrets {
		_, sec, err := token.Parse(token.DefaultPrefix, s)
		require.NoError(t, err)
		secretPart := string(sec.Bytes())
		for _, it := range out.Items {
			for name, v := range it {
				var text string
				var raw []byte
				switch x := v.(type) {
				case *types.AttributeValueMemberS:
					text = x.Value
				case *types.AttributeValueMemberB:
					raw = x.Value
				case *types.AttributeValueMemberSS:
					text = strings.Join(x.Value, " ")
				}
				for i := 0; i+8 <= len(secretPart); i++ {
					require.NotContains(t, text, secretPart[i:i+8], "attribute %s holds part of a secret", name)
				}
				require.False(t, bytes.Contains(raw, sec.Bytes()[:8]), "attribute %s holds secret bytes", name)
			}
		}
	}
}

// TestUsesByDay: GET /tokens/{id} shows the uses of each of the last 30 UTC days, oldest
// first and ending today, from what the usage flush recorded; a rotation keeps them, and
// only the one-token answer carries them.
func TestUsesByDay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tb := e.svc.Store.(*store.Table)
	id := e.create(alice, temp("busy"))["id"].(string)
	now := e.clock.Now()
	day := func(ago int) string { return now.AddDate(0, 0, -ago).UTC().Format("2006-01-02") }
	for _, u := range []struct {
		ago int
		n   int64
	}{{0, 5}, {0, 2}, {1, 3}, {29, 4}, {30, 100}, {40, 100}} {
		require.NoError(t, tb.RecordUse(ctx, token.ID(id), u.n, now.AddDate(0, 0, -u.ago), "192.0.2.7"))
	}
	rotated := e.do(alice, "POST", "/tokens/"+id+"/rotate", nil)
	require.Equal(t, http.StatusOK, rotated.status, rotated.raw)
	require.NotContains(t, rotated.body, "usesByDay", "only GET /tokens/{id} carries them")

	res := e.do(alice, "GET", "/tokens/"+id, nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.EqualValues(t, 214, res.body["useCount"])
	days := res.body["usesByDay"].([]any)
	require.Len(t, days, 30)
	want := map[string]float64{day(0): 7, day(1): 3, day(29): 4}
	for i, d := range days {
		d := d.(map[string]any)
		require.Equal(t, day(29-i), d["day"], "oldest first, ending today")
		require.Equal(t, want[d["day"].(string)], d["uses"], d["day"])
	}

	list := e.do(alice, "GET", "/tokens", nil)
	require.Equal(t, http.StatusOK, list.status, list.raw)
	require.NotContains(t, list.body["items"].([]any)[0], "usesByDay")
}
