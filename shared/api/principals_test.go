package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/principal"
	"tokengate/shared/store"
)

// principalEnv is the management API with the principal routes, on the shipped catalog
// (infra/catalog.json), so roles exist.
type principalEnv struct {
	*env
	principals *principal.Service
	table      *store.Table
}

// ops is a superuser holding every scope of the catalog but emergency:activate: the
// one caller here that may grant application roles.
var ops = access.Caller{TokenID: "ops-token", OwnerID: "ops", Scopes: []string{
	access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead,
	"orders:read", "orders:write", "reports:read", "deployments:write", "payments:refund", "customers:export",
}}

// rootCaller is the seeded superuser root, with the built-in scopes only.
var rootCaller = access.Caller{TokenID: "root-token", OwnerID: "root", Scopes: []string{
	access.TokensRead, access.TokensWrite, access.TokensAdmin, access.AuditRead, access.EmergencyActivate,
}}

func newPrincipalEnv(t *testing.T) *principalEnv {
	e := newEnv(t)
	cat, err := access.LoadCatalog("../../infra/catalog.json")
	require.NoError(t, err)
	tb := e.svc.Store.(*store.Table)
	require.NoError(t, tb.PutPrincipal(context.Background(), &access.Principal{
		ID: "ops", Name: "Operations", Kind: "user", Scopes: ops.Scopes, Superuser: true, Version: 1,
	}, 0))
	svc := &principal.Service{Store: tb, Catalog: cat, Now: e.clock.Now}
	for pattern, h := range map[string]http.Handler{
		"GET /principals":         api.ListPrincipals(svc),
		"POST /principals":        api.CreatePrincipal(svc),
		"GET /principals/{id}":    api.GetPrincipal(svc),
		"PATCH /principals/{id}":  api.UpdatePrincipal(svc),
		"DELETE /principals/{id}": api.DeletePrincipal(svc),
		"GET /scopes":             api.Scopes(cat),
		"GET /roles":              api.Roles(cat),
	} {
		e.mux.Handle(pattern, h)
	}
	return &principalEnv{env: e, principals: svc, table: tb}
}

// createPrincipal makes a principal as c and returns its body.
func (e *principalEnv) createPrincipal(c access.Caller, body map[string]any) map[string]any {
	e.t.Helper()
	res := e.do(c, "POST", "/principals", body)
	require.Equal(e.t, http.StatusCreated, res.status, res.raw)
	return res.body
}

// version reads a principal's version straight from the table, to prove nothing was written.
func (e *principalEnv) version(id string) int64 {
	e.t.Helper()
	p, err := e.table.GetPrincipal(context.Background(), id)
	require.NoError(e.t, err)
	return p.Version
}

func strs(v any) []string {
	out := []string{}
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestPrincipalLifecycle(t *testing.T) {
	e := newPrincipalEnv(t)
	now := e.clock.Now().UTC().Format("2006-01-02T15:04:05Z")

	res := e.do(ops, "POST", "/principals", map[string]any{
		"id": "ci-bot", "name": "CI bot", "email": "ci@example.com", "kind": "application",
		"roles": []string{"continuous-integration"}, "scopes": []string{"reports:read", "reports:read"},
	})
	require.Equal(t, http.StatusCreated, res.status, res.raw)
	require.Equal(t, "/principals/ci-bot", res.header.Get("Location"))
	require.Equal(t, "no-store", res.header.Get("Cache-Control"))
	b := res.body
	require.Equal(t, "ci-bot", b["id"])
	require.Equal(t, "CI bot", b["name"])
	require.Equal(t, "ci@example.com", b["email"])
	require.Equal(t, "application", b["kind"])
	require.Equal(t, []string{"continuous-integration"}, strs(b["roles"]))
	require.Equal(t, []string{"reports:read"}, strs(b["scopes"]), "repeats dropped")
	require.Equal(t, []string{"deployments:write", "orders:read", "reports:read", "tokens:read", "tokens:write"}, strs(b["holds"]),
		"the role's scopes and its own, sorted")
	require.Equal(t, false, b["superuser"])
	require.Equal(t, now, b["createdAt"])
	require.Equal(t, now, b["updatedAt"])
	require.EqualValues(t, 1, b["version"])

	t.Run("get", func(t *testing.T) {
		got := e.do(admin, "GET", "/principals/ci-bot", nil)
		require.Equal(t, http.StatusOK, got.status, got.raw)
		require.Equal(t, b, got.body)
	})

	t.Run("defaults", func(t *testing.T) {
		res := e.do(admin, "POST", "/principals", map[string]any{"id": "carol@example.com", "name": "Carol"})
		require.Equal(t, http.StatusCreated, res.status, res.raw)
		require.Equal(t, "/principals/carol@example.com", res.header.Get("Location"))
		d := res.body
		require.Equal(t, "user", d["kind"])
		require.Nil(t, d["email"])
		require.Equal(t, []string{}, strs(d["roles"]))
		require.Equal(t, []string{}, strs(d["scopes"]))
		require.Equal(t, []string{}, strs(d["holds"]))
		require.Equal(t, "carol@example.com", e.do(admin, "GET", "/principals/carol@example.com", nil).body["id"])
	})

	e.clock.Add(time.Minute)
	later := e.clock.Now().UTC().Format("2006-01-02T15:04:05Z")
	t.Run("update", func(t *testing.T) {
		res := e.do(admin, "PATCH", "/principals/ci-bot", map[string]any{"name": "Deploy bot"}, "If-Match", `"1"`)
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Equal(t, "Deploy bot", res.body["name"])
		require.Equal(t, "ci@example.com", res.body["email"], "absent fields stay")
		require.Equal(t, []string{"continuous-integration"}, strs(res.body["roles"]))
		require.EqualValues(t, 2, res.body["version"])
		require.Equal(t, now, res.body["createdAt"])
		require.Equal(t, later, res.body["updatedAt"])

		res = e.do(admin, "PATCH", "/principals/ci-bot", `{"email": null, "scopes": null, "kind": "user", "id": "ci-bot"}`)
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.Nil(t, res.body["email"], "null removes the address")
		require.Equal(t, []string{}, strs(res.body["scopes"]), "null removes the direct scopes")
		require.Equal(t, "user", res.body["kind"])
		require.NotContains(t, strs(res.body["holds"]), "reports:read")
		require.EqualValues(t, 3, res.body["version"])

		res = e.do(admin, "PATCH", "/principals/ci-bot", map[string]any{"name": "Deploy bot"})
		require.Equal(t, http.StatusOK, res.status, res.raw)
		require.EqualValues(t, 3, res.body["version"], "a change that changes nothing writes nothing")
	})

	t.Run("list", func(t *testing.T) {
		got := e.do(admin, "GET", "/principals", nil)
		require.Equal(t, http.StatusOK, got.status, got.raw)
		require.Equal(t, []string{"admin", "alice", "bob", "carol@example.com", "ci-bot", "ops", "root"}, ids(got.body["items"]), "by id")
		require.Nil(t, got.body["nextCursor"])
	})

	t.Run("delete", func(t *testing.T) {
		res := e.do(admin, "DELETE", "/principals/ci-bot", nil)
		require.Equal(t, http.StatusNoContent, res.status, res.raw)
		require.Empty(t, res.raw)
		require.Equal(t, http.StatusNotFound, e.do(admin, "GET", "/principals/ci-bot", nil).status)
		require.Equal(t, http.StatusNotFound, e.do(admin, "DELETE", "/principals/ci-bot", nil).status)
		require.Equal(t, http.StatusNotFound, e.do(admin, "PATCH", "/principals/ci-bot", map[string]any{"name": "x"}).status)
	})
}

func TestPrincipalPages(t *testing.T) {
	e := newPrincipalEnv(t)
	for _, id := range []string{"p1", "p2", "p3", "p4", "p5"} {
		e.createPrincipal(admin, map[string]any{"id": id, "name": id})
	}
	var seen []string
	query := "?limit=3"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		res := e.do(admin, "GET", "/principals"+query, nil)
		require.Equal(t, http.StatusOK, res.status, res.raw)
		items := ids(res.body["items"])
		require.LessOrEqual(t, len(items), 3)
		seen = append(seen, items...)
		next, _ := res.body["nextCursor"].(string)
		if next == "" {
			break
		}
		query = "?limit=3&cursor=" + next
	}
	require.Equal(t, []string{"admin", "alice", "bob", "ops", "p1", "p2", "p3", "p4", "p5", "root"}, seen)

	tests := []struct{ name, query, field string }{
		{"limit of 0", "?limit=0", "limit"},
		{"limit over 100", "?limit=101", "limit"},
		{"limit not a number", "?limit=ten", "limit"},
		{"not a cursor", "?cursor=bm9wZQ", "cursor"},
		{"a token listing's filter", "?status=active", "status"},
		{"limit twice", "?limit=1&limit=2", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireInvalid(t, e.do(admin, "GET", "/principals"+tt.query, nil), tt.field)
		})
	}
}

func TestPrincipalRefusesBadInput(t *testing.T) {
	e := newPrincipalEnv(t)
	ok := func(extra map[string]any) map[string]any {
		b := map[string]any{"id": "new-one", "name": "New"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	creates := []struct {
		name   string
		body   any
		fields []string
	}{
		{"malformed JSON", `{"id": "x",`, []string{""}},
		{"empty body", ``, []string{""}},
		{"unknown field", ok(map[string]any{"color": "red"}), []string{"color"}},
		{"no id", map[string]any{"name": "x"}, []string{"id"}},
		{"id with a space", ok(map[string]any{"id": "new one"}), []string{"id"}},
		{"id starting with a dot", ok(map[string]any{"id": ".x"}), []string{"id"}},
		{"id of 129 characters", ok(map[string]any{"id": strings.Repeat("a", 129)}), []string{"id"}},
		{"no name", map[string]any{"id": "x"}, []string{"name"}},
		{"blank name", ok(map[string]any{"name": "  "}), []string{"name"}},
		{"name of 101 characters", ok(map[string]any{"name": strings.Repeat("é", 101)}), []string{"name"}},
		{"control character in name", ok(map[string]any{"name": "a\nb"}), []string{"name"}},
		{"email without a domain", ok(map[string]any{"email": "ops"}), []string{"email"}},
		{"email with a display name", ok(map[string]any{"email": "Ops <ops@example.com>"}), []string{"email"}},
		{"email too long", ok(map[string]any{"email": strings.Repeat("a", 250) + "@example.com"}), []string{"email"}},
		{"unknown kind", ok(map[string]any{"kind": "robot"}), []string{"kind"}},
		{"unknown role", ok(map[string]any{"roles": []string{"viewer", "overlord"}}), []string{"roles"}},
		{"unknown scope", ok(map[string]any{"scopes": []string{"tokens:read", "root"}}), []string{"scopes"}},
		{"superuser not a boolean", ok(map[string]any{"superuser": "yes"}), []string{"superuser"}},
		{"roles not an array", ok(map[string]any{"roles": "viewer"}), []string{"roles"}},
		{"every problem at once", map[string]any{"id": "a b", "name": "", "email": "x", "kind": "robot", "roles": []string{"nope"}, "scopes": []string{"nope"}},
			[]string{"id", "name", "email", "kind", "roles", "scopes"}},
	}
	for _, tt := range creates {
		t.Run("create: "+tt.name, func(t *testing.T) {
			requireInvalid(t, e.do(ops, "POST", "/principals", tt.body), tt.fields...)
		})
	}

	updates := []struct {
		name    string
		body    any
		headers []string
		fields  []string
	}{
		{"nothing to change", map[string]any{}, nil, []string{""}},
		{"unknown field", map[string]any{"nickname": "x"}, nil, []string{"nickname"}},
		{"another id", map[string]any{"id": "bobby"}, nil, []string{"id"}},
		{"empty name", map[string]any{"name": ""}, nil, []string{"name"}},
		{"null name", `{"name": null}`, nil, []string{"name"}},
		{"bad email", map[string]any{"email": "bob@"}, nil, []string{"email"}},
		{"unknown kind", map[string]any{"kind": "robot"}, nil, []string{"kind"}},
		{"unknown role", map[string]any{"roles": []string{"overlord"}}, nil, []string{"roles"}},
		{"unknown scope", map[string]any{"scopes": []string{"nope"}}, nil, []string{"scopes"}},
		{"If-Match not a version", map[string]any{"name": "x"}, []string{"If-Match", "yesterday"}, []string{"If-Match"}},
		{"every mistyped field at once", map[string]any{"name": 1, "email": 2, "roles": "viewer", "superuser": "no"}, nil,
			[]string{"name", "email", "roles", "superuser"}},
		{"every invalid value at once", map[string]any{"name": "", "email": "x", "kind": "robot", "roles": []string{"nope"}, "scopes": []string{"nope"}}, nil,
			[]string{"name", "email", "kind", "roles", "scopes"}},
	}
	for _, tt := range updates {
		t.Run("update: "+tt.name, func(t *testing.T) {
			requireInvalid(t, e.do(ops, "PATCH", "/principals/bob", tt.body, tt.headers...), tt.fields...)
		})
	}

	t.Run("nothing was written", func(t *testing.T) {
		require.Equal(t, []string{"admin", "alice", "bob", "ops", "root"}, ids(e.do(admin, "GET", "/principals", nil).body["items"]))
		require.EqualValues(t, 1, e.version("bob"))
	})
}

func TestPrincipalPermissions(t *testing.T) {
	e := newPrincipalEnv(t)
	tests := []struct {
		name         string
		caller       access.Caller
		method, path string
		body         any
	}{
		{"list", alice, "GET", "/principals", nil},
		{"read another", alice, "GET", "/principals/bob", nil},
		{"read one that does not exist", alice, "GET", "/principals/nobody", nil},
		{"create", alice, "POST", "/principals", map[string]any{"id": "x", "name": "x"}},
		{"update another", alice, "PATCH", "/principals/bob", map[string]any{"name": "Robert"}},
		{"update itself", alice, "PATCH", "/principals/alice", map[string]any{"name": "Alice A."}},
		{"delete", alice, "DELETE", "/principals/bob", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.caller, tt.method, tt.path, tt.body)
			require.Equal(t, http.StatusForbidden, res.status, res.raw)
			require.Equal(t, "application/problem+json", res.header.Get("Content-Type"))
			require.Contains(t, res.body["detail"], "tokens:admin")
		})
	}
	require.EqualValues(t, 1, e.version("bob"), "nothing was written")
	require.EqualValues(t, 1, e.version("alice"))

	t.Run("anyone reads its own principal", func(t *testing.T) {
		for _, c := range []access.Caller{alice, reader, {TokenID: "t", OwnerID: "alice"}} {
			res := e.do(c, "GET", "/principals/alice", nil)
			require.Equal(t, http.StatusOK, res.status, res.raw)
			require.Equal(t, []string{"tokens:read", "tokens:write"}, strs(res.body["holds"]))
		}
	})
	t.Run("no caller", func(t *testing.T) {
		require.Equal(t, http.StatusUnauthorized, e.do(access.Caller{}, "GET", "/principals/alice", nil).status)
	})
}

func TestPrincipalEscalation(t *testing.T) {
	e := newPrincipalEnv(t)
	// ci-bot holds deployments:write and orders:read, which admin does not.
	e.createPrincipal(ops, map[string]any{"id": "ci-bot", "name": "CI", "roles": []string{"continuous-integration"}})
	e.createPrincipal(ops, map[string]any{"id": "deployer", "name": "Deployer", "scopes": []string{"tokens:read", "tokens:write", "orders:read", "deployments:write"}})

	refused := []struct {
		name         string
		caller       access.Caller
		method, path string
		body         map[string]any
		reason       string
	}{
		{"a role with scopes the caller lacks", admin, "POST", "/principals",
			map[string]any{"id": "x", "name": "x", "roles": []string{"continuous-integration"}}, "deployments:write, orders:read"},
		{"a scope the caller lacks", admin, "POST", "/principals",
			map[string]any{"id": "x", "name": "x", "scopes": []string{"emergency:activate"}}, "emergency:activate"},
		{"a superuser, made by an admin who is none", admin, "POST", "/principals",
			map[string]any{"id": "x", "name": "x", "superuser": true}, "superuser"},
		{"re-adding what the caller lacks", admin, "PATCH", "/principals/ci-bot",
			map[string]any{"roles": []string{"continuous-integration", "viewer"}}, "reports:read"},
		{"a scope the caller lacks, added directly", admin, "PATCH", "/principals/bob",
			map[string]any{"scopes": []string{"tokens:read", "tokens:write", "orders:read"}}, "orders:read"},
		{"making a superuser", admin, "PATCH", "/principals/bob", map[string]any{"superuser": true}, "superuser"},
		{"unmaking a superuser", admin, "PATCH", "/principals/root", map[string]any{"superuser": false}, "superuser"},
		{"deleting a superuser", admin, "DELETE", "/principals/root", nil, "superuser"},
		{"changing its own roles", admin, "PATCH", "/principals/admin", map[string]any{"roles": []string{"viewer"}}, "your own"},
		{"dropping its own scopes", admin, "PATCH", "/principals/admin", map[string]any{"scopes": []string{"tokens:read"}}, "your own"},
		{"a superuser unmaking itself", rootCaller, "PATCH", "/principals/root", map[string]any{"superuser": false}, "your own"},
		{"deleting itself", admin, "DELETE", "/principals/admin", nil, "your own"},
		{"a superuser's scopes beyond its token", rootCaller, "POST", "/principals",
			map[string]any{"id": "x", "name": "x", "scopes": []string{"payments:refund"}}, "payments:refund"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			res := e.do(tt.caller, tt.method, tt.path, body)
			require.Equal(t, http.StatusForbidden, res.status, res.raw)
			require.Contains(t, res.body["detail"], tt.reason)
		})
	}
	t.Run("nothing was written", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, e.do(ops, "GET", "/principals/x", nil).status)
		for _, id := range []string{"ci-bot", "bob", "root", "admin"} {
			require.EqualValues(t, 1, e.version(id), id)
		}
	})

	allowed := []struct {
		name         string
		caller       access.Caller
		method, path string
		body         map[string]any
		want         int
	}{
		{"renaming a principal that holds more than the caller", admin, "PATCH", "/principals/ci-bot", map[string]any{"name": "CI bot"}, http.StatusOK},
		{"a role whose scopes the principal holds already", admin, "PATCH", "/principals/deployer",
			map[string]any{"roles": []string{"continuous-integration"}}, http.StatusOK},
		{"taking away what the caller lacks", admin, "PATCH", "/principals/ci-bot", map[string]any{"roles": []string{}}, http.StatusOK},
		{"changing its own name", admin, "PATCH", "/principals/admin", map[string]any{"name": "The admin"}, http.StatusOK},
		{"restating its own grants", admin, "PATCH", "/principals/admin", map[string]any{"superuser": false}, http.StatusOK},
		{"a superuser made by a superuser", rootCaller, "POST", "/principals", map[string]any{"id": "root2", "name": "Root 2", "superuser": true}, http.StatusCreated},
		{"a superuser unmade by a superuser", rootCaller, "PATCH", "/principals/root2", map[string]any{"superuser": false}, http.StatusOK},
		{"a superuser deleted by a superuser", rootCaller, "DELETE", "/principals/ops", nil, http.StatusNoContent},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != nil {
				body = tt.body
			}
			res := e.do(tt.caller, tt.method, tt.path, body)
			require.Equal(t, tt.want, res.status, res.raw)
		})
	}
	require.Equal(t, []string{}, strs(e.do(admin, "GET", "/principals/ci-bot", nil).body["holds"]))
}

func TestPrincipalConflicts(t *testing.T) {
	e := newPrincipalEnv(t)
	t.Run("the id exists", func(t *testing.T) {
		res := e.do(admin, "POST", "/principals", map[string]any{"id": "bob", "name": "Another Bob"})
		require.Equal(t, http.StatusConflict, res.status, res.raw)
		require.Contains(t, res.body["detail"], `"bob" exists already`)
		require.Equal(t, "Bob", e.do(admin, "GET", "/principals/bob", nil).body["name"], "the first one stays")
	})
	t.Run("the owner reference is taken", func(t *testing.T) {
		// Two ids whose owner references (token.OwnerRef) collide, found by a search.
		e.createPrincipal(admin, map[string]any{"id": "p9103343", "name": "First"})
		res := e.do(admin, "POST", "/principals", map[string]any{"id": "p27858680", "name": "Second"})
		require.Equal(t, http.StatusConflict, res.status, res.raw)
		require.Contains(t, res.body["detail"], "owner reference")
		require.Equal(t, http.StatusNotFound, e.do(admin, "GET", "/principals/p27858680", nil).status)
	})
	t.Run("stale If-Match", func(t *testing.T) {
		require.Equal(t, http.StatusOK, e.do(admin, "PATCH", "/principals/bob", map[string]any{"name": "Robert"}, "If-Match", `"1"`).status)
		res := e.do(admin, "PATCH", "/principals/bob", map[string]any{"name": "Bobby"}, "If-Match", `"1"`)
		require.Equal(t, http.StatusConflict, res.status, res.raw)
		require.Equal(t, "Robert", e.do(admin, "GET", "/principals/bob", nil).body["name"])
	})
	t.Run("concurrent updates", func(t *testing.T) {
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			results = map[int]int{}
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.do(admin, "PATCH", "/principals/alice", map[string]any{"name": "Alice " + string(rune('A'+i))})
				mu.Lock()
				results[res.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		require.Equal(t, n, results[http.StatusOK]+results[http.StatusConflict], "each answers 200 or 409: %v", results)
		require.EqualValues(t, 1+results[http.StatusOK], e.version("alice"), "one version per success, none lost")
	})
}

func TestCatalogRoutes(t *testing.T) {
	e := newPrincipalEnv(t)
	res := e.do(reader, "GET", "/scopes", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	items := res.body["items"].([]any)
	require.Len(t, items, 11)
	require.Equal(t, map[string]any{"name": "tokens:read", "risk": "low", "description": "Read your own tokens"}, items[0])
	require.Equal(t, map[string]any{"name": "customers:export", "risk": "high", "description": "Export customer data"}, items[10])

	res = e.do(reader, "GET", "/roles", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	roles := map[string]map[string]any{}
	var names []string
	for _, it := range res.body["items"].([]any) {
		r := it.(map[string]any)
		roles[r["name"].(string)] = r
		names = append(names, r["name"].(string))
	}
	require.Equal(t, []string{"continuous-integration", "developer", "finance", "security-officer", "token-admin", "viewer"}, names)
	require.Equal(t, "low", roles["viewer"]["risk"])
	require.Equal(t, "medium", roles["continuous-integration"]["risk"])
	require.Equal(t, "high", roles["finance"]["risk"])
	require.Equal(t, []string{"tokens:read", "tokens:write", "orders:read", "deployments:write"}, strs(roles["continuous-integration"]["scopes"]))
	require.NotEmpty(t, roles["viewer"]["description"])

	requireInvalid(t, e.do(reader, "GET", "/scopes?risk=high", nil), "risk")
	require.Equal(t, http.StatusUnauthorized, e.do(access.Caller{}, "GET", "/roles", nil).status)
}
