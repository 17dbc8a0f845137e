package api_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/settings"
	"tokengate/shared/store"
)

// withSettings adds GET and PATCH /settings to e, on a settings source that the token
// service reads too (as boot.Assemble wires them), with the deployment's defaults.
func withSettings(e *env) *settings.Source {
	tb := e.svc.Store.(*store.Table)
	src := &settings.Source{Store: tb, Now: e.clock.Now, Defaults: settings.Values{
		DetectionWindow: 168 * time.Hour, Backoff: 24 * time.Hour, Recipients: []string{"ops@example.com"},
		TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour,
	}}
	e.svc.Settings = src
	svc := &settings.Service{Source: src, Principals: tb, Now: e.clock.Now}
	e.mux.Handle("GET /settings", api.GetSettings(svc))
	e.mux.Handle("PATCH /settings", api.UpdateSettings(svc))
	return src
}

// A superuser changes the settings at run time: the API uses them at once on the instance
// that took the change (the others within a minute: TestSettingsReachAnotherProcessWithinAMinute),
// each change is audited with its reason, and a reset puts the default back.
func TestSettingsChangeWithoutARedeploy(t *testing.T) {
	e := newEnv(t)
	withSettings(e)
	res := e.do(admin, "GET", "/settings", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "168h", res.body["detectionWindow"])
	require.Equal(t, "1h", res.body["temporaryTokenTtl"])
	require.Equal(t, []any{"ops@example.com"}, res.body["recipients"])
	require.EqualValues(t, 0, res.body["version"])
	require.Nil(t, res.body["updatedBy"])

	res = e.do(root, "PATCH", "/settings", map[string]any{
		"detectionWindow": "336h", "recipients": []string{"security@example.com", "ops@example.com"},
		"temporaryTokenTtl": "30m", "reason": "two weeks' notice; security in copy",
	})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "336h", res.body["detectionWindow"])
	require.Equal(t, "24h", res.body["backoff"], "a field not given keeps its value")
	require.Equal(t, "30m", res.body["temporaryTokenTtl"])
	require.Equal(t, map[string]any{"detectionWindow": true, "backoff": false, "recipients": true, "temporaryTokenTtl": true, "maxTemporaryTokenLifetime": false}, res.body["set"])
	require.Equal(t, "168h", res.body["defaults"].(map[string]any)["detectionWindow"])
	require.EqualValues(t, 1, res.body["version"])
	require.Equal(t, "root", res.body["updatedBy"])

	// Used at once: a temporary token now lives 30 minutes by default, and GET
	// /tokens/self offers what the API accepts now.
	tmp := e.create(admin, temp("short"))
	exp, err := time.Parse(time.RFC3339, tmp["expiresAt"].(string))
	require.NoError(t, err)
	require.Equal(t, e.clock.Now().Add(30*time.Minute).UTC(), exp.UTC())
	self := e.do(access.Caller{TokenID: tmp["id"].(string), OwnerID: "admin", Scopes: []string{access.TokensRead}}, "GET", "/tokens/self", nil)
	require.Equal(t, http.StatusOK, self.status, self.raw)
	require.Equal(t, "30m0s", self.body["policy"].(map[string]any)["temporaryTokenTtl"])

	// Audited, with the reason and each field's change.
	log := e.do(admin, "GET", "/audit?type=settings.change", nil)
	require.Equal(t, http.StatusOK, log.status, log.raw)
	items := log.body["items"].([]any)
	require.Len(t, items, 1)
	ev := items[0].(map[string]any)
	require.Equal(t, "root", ev["actorId"])
	require.Equal(t, "root-token", ev["actorTokenId"])
	require.Equal(t, "two weeks' notice; security in copy", ev["reason"])
	require.ElementsMatch(t, []any{
		map[string]any{"field": "detectionWindow", "from": "", "to": "336h0m0s"},
		map[string]any{"field": "recipients", "from": "", "to": "security@example.com; ops@example.com"},
		map[string]any{"field": "temporaryTokenTtl", "from": "", "to": "30m0s"},
	}, ev["changes"])

	// A reset puts the deployment's default back; an empty list means no extra recipient.
	res = e.do(root, "PATCH", "/settings", map[string]any{"reset": []string{"temporaryTokenTtl"}, "recipients": []string{}, "reason": "back to the default"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "1h", res.body["temporaryTokenTtl"])
	require.Equal(t, []any{}, res.body["recipients"])
	require.Equal(t, "336h", res.body["detectionWindow"])
	require.EqualValues(t, 2, res.body["version"])
	tmp = e.create(admin, temp("default again"))
	exp, err = time.Parse(time.RFC3339, tmp["expiresAt"].(string))
	require.NoError(t, err)
	require.Equal(t, e.clock.Now().Add(time.Hour).UTC(), exp.UTC())
}

// Who may: reading needs tokens:admin; changing needs a superuser, with a token of its
// own holding tokens:admin. Bad input is 400 naming each field. Neither changes anything.
func TestSettingsRefusals(t *testing.T) {
	e := newEnv(t)
	withSettings(e)
	ok := map[string]any{"backoff": "12h", "reason": "fewer repeats"}
	for _, c := range []struct {
		name   string
		caller access.Caller
		method string
		body   any
		want   int
		fields []string
	}{
		{"a reader may not read", reader, "GET", nil, 403, nil},
		{"an admin reads", admin, "GET", nil, 200, nil},
		{"an admin who is no superuser may not change", admin, "PATCH", ok, 403, nil},
		{"a superuser's token without tokens:admin may not", access.Caller{TokenID: "r", OwnerID: "root", Scopes: []string{access.TokensRead, access.TokensWrite}}, "PATCH", ok, 403, nil},
		{"a token lent to a superuser may not", access.Caller{TokenID: "lent", OwnerID: "root", MinterID: "admin", Scopes: root.Scopes}, "PATCH", ok, 403, nil},
		{"every bad field at once", root, "PATCH", map[string]any{
			"detectionWindow": "7 days", "backoff": "0s", "recipients": []string{"ops@example.com", "not an address", "OPS@example.com"},
			"temporaryTokenTtl": "48h", "maxTemporaryTokenLifetime": "30s", "reset": []string{"nope", "backoff"},
		}, 400, []string{"detectionWindow", "backoff", "recipients[1]", "recipients[2]", "temporaryTokenTtl", "maxTemporaryTokenLifetime", "reset[0]", "reset[1]", "reason"}},
		{"nothing to change", root, "PATCH", map[string]any{"reason": "x"}, 400, []string{""}},
		{"an unknown field", root, "PATCH", map[string]any{"window": "1h", "reason": "x"}, 400, []string{"window"}},
		{"a TTL beyond the lifetime in effect", root, "PATCH", map[string]any{"temporaryTokenTtl": "13h", "reason": "x"}, 400, []string{"temporaryTokenTtl"}},
		{"a lifetime below the TTL in effect is named by the field given", root, "PATCH", map[string]any{"maxTemporaryTokenLifetime": "20m", "temporaryTokenTtl": "30m", "reason": "x"}, 400, []string{"temporaryTokenTtl"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.do(c.caller, c.method, "/settings", c.body)
			require.Equal(t, c.want, res.status, res.raw)
			if c.fields != nil {
				var got []string
				for _, f := range res.body["errors"].([]any) {
					got = append(got, f.(map[string]any)["field"].(string))
				}
				require.ElementsMatch(t, c.fields, got, res.raw)
			}
		})
	}
	res := e.do(admin, "GET", "/settings", nil)
	require.EqualValues(t, 0, res.body["version"], "nothing was changed")
	require.Equal(t, "24h", res.body["backoff"])
	log := e.do(admin, "GET", "/audit?type=settings.change", nil)
	require.Empty(t, log.body["items"])

	// If-Match: the version last read, or 409.
	res = e.do(root, "PATCH", "/settings", ok, "If-Match", "3")
	require.Equal(t, http.StatusConflict, res.status, res.raw)
	res = e.do(root, "PATCH", "/settings", ok, "If-Match", `"0"`)
	require.Equal(t, http.StatusOK, res.status, "0 is the version of settings never changed: %s", res.raw)
	res = e.do(root, "PATCH", "/settings", ok, "If-Match", `"0"`)
	require.Equal(t, http.StatusConflict, res.status, "changed since: %s", res.raw)
}

// Concurrent changes of different fields, on different instances (each its own source),
// are all kept: each PATCH applies its fields to the settings as they are.
func TestSettingsConcurrentChangesLoseNothing(t *testing.T) {
	e := newEnv(t)
	withSettings(e)
	tb := e.svc.Store.(*store.Table)
	changes := []map[string]any{
		{"detectionWindow": "240h"}, {"backoff": "6h"}, {"recipients": []string{"sec@example.com"}},
		{"temporaryTokenTtl": "45m"}, {"maxTemporaryTokenLifetime": "8h"},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(changes))
	for i, ch := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := &settings.Service{Source: &settings.Source{Store: tb, Defaults: settings.Values{TemporaryTTL: time.Hour, MaxTemporaryLifetime: 12 * time.Hour}}, Principals: tb}
			p := settings.Patch{Reason: fmt.Sprintf("change %d", i)}
			for k, v := range ch {
				switch k {
				case "detectionWindow":
					s := v.(string)
					p.DetectionWindow = &s
				case "backoff":
					s := v.(string)
					p.Backoff = &s
				case "recipients":
					r := v.([]string)
					p.Recipients = &r
				case "temporaryTokenTtl":
					s := v.(string)
					p.TemporaryTTL = &s
				case "maxTemporaryTokenLifetime":
					s := v.(string)
					p.MaxTemporaryLifetime = &s
				}
			}
			_, err := svc.Update(t.Context(), root, p, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	res := e.do(admin, "GET", "/settings", nil)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.EqualValues(t, len(changes), res.body["version"])
	require.Equal(t, "240h", res.body["detectionWindow"])
	require.Equal(t, "6h", res.body["backoff"])
	require.Equal(t, []any{"sec@example.com"}, res.body["recipients"])
	require.Equal(t, "45m", res.body["temporaryTokenTtl"])
	require.Equal(t, "8h", res.body["maxTemporaryTokenLifetime"])
	log := e.do(admin, "GET", "/audit?type=settings.change", nil)
	require.Len(t, log.body["items"], len(changes), "one record per change")
}

// The settings a superuser set bound what the token service issues: a temporary token
// asked to live longer than the lifetime in effect is refused, with the value in effect.
func TestSettingsBoundIssuance(t *testing.T) {
	e := newEnv(t)
	withSettings(e)
	res := e.do(root, "PATCH", "/settings", map[string]any{"maxTemporaryTokenLifetime": "2h", "reason": "shorter sessions"})
	require.Equal(t, http.StatusOK, res.status, res.raw)
	body := temp("long")
	body["expiresAt"] = e.clock.Now().Add(3 * time.Hour).Format(time.RFC3339)
	res = e.do(admin, "POST", "/tokens", body)
	require.Equal(t, http.StatusBadRequest, res.status, res.raw)
	require.Contains(t, res.raw, "2h0m0s")
	body["expiresAt"] = e.clock.Now().Add(90 * time.Minute).Format(time.RFC3339)
	e.create(admin, body)
}
