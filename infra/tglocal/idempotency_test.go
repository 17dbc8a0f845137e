package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/token"
)

// TestIdempotencyKeyMakesCreateAndRotateSafeToRetry: the same request sent again with
// the same Idempotency-Key (a client whose answer was lost) changes nothing more and is
// answered 409 naming the token, never with a second secret; concurrent retries make one
// change; the key with another request is refused; another principal's same key is its
// own.
func TestIdempotencyKeyMakesCreateAndRotateSafeToRetry(t *testing.T) {
	svc := localtest.Service(t, nil)
	srv := httptest.NewServer(testServer(t, localtest.Template(t), svc, 0, nil).Handler)
	defer srv.Close()
	adminC, err := svc.Create(t.Context(), localtest.Admin, token.CreateInput{Name: "admin", Scopes: localtest.Admin.Scopes, Reason: "test"})
	require.NoError(t, err)
	admin := adminC.Plaintext.Reveal()
	send := func(tok, key, method, path, body string) (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
		return res.StatusCode, res.Header, m
	}
	count := func(name string) int {
		t.Helper()
		page, _, err := svc.Store.List(t.Context(), token.Filter{Limit: 100})
		require.NoError(t, err)
		n := 0
		for _, tk := range page {
			if tk.Name == name {
				n++
			}
		}
		return n
	}

	body := `{"name":"deploy","scopes":["tokens:read"],"expiresIn":"1w"}`
	code, _, first := send(admin, "k-1", "POST", "/tokens", body)
	require.Equal(t, http.StatusCreated, code, "%v", first)
	id := first["id"].(string)

	// The answer was lost; the client sends the same request again, body reformatted.
	code, h, again := send(admin, "k-1", "POST", "/tokens", `{ "scopes": ["tokens:read"], "name": "deploy", "expiresIn": "1w" }`)
	require.Equal(t, http.StatusConflict, code, "%v", again)
	require.Equal(t, "/tokens/"+id, h.Get("Location"))
	require.Contains(t, again["detail"], id)
	require.NotContains(t, again, "token", "no secret is answered again")
	require.Equal(t, 1, count("deploy"), "nothing more was created")

	code, _, other := send(admin, "k-1", "POST", "/tokens", `{"name":"other","scopes":["tokens:read"],"expiresIn":"1w"}`)
	require.Equal(t, http.StatusBadRequest, code, "%v", other)
	require.Contains(t, other["errors"].([]any)[0].(map[string]any)["field"], "Idempotency-Key")
	require.Zero(t, count("other"))

	code, _, bad := send(admin, strings.Repeat("x", 256), "POST", "/tokens", body)
	require.Equal(t, http.StatusBadRequest, code, "%v", bad)

	// Ten concurrent sends of one new request: one token.
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, _ := send(admin, "k-burst", "POST", "/tokens", `{"name":"burst","scopes":["tokens:read"],"expiresIn":"1w"}`)
			codes <- c
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, c)
		if c == http.StatusCreated {
			created++
		}
	}
	require.Equal(t, 1, created)
	require.Equal(t, 1, count("burst"))

	// A rotation sent twice rotates once: the first answer's secret is the one that works.
	var before *token.Token
	code, _, rotated := send(admin, "r-1", "POST", "/tokens/"+id+"/rotate", `{}`)
	require.Equal(t, http.StatusOK, code, "%v", rotated)
	before, err = svc.Store.Get(t.Context(), token.ID(id))
	require.NoError(t, err)
	code, _, replay := send(admin, "r-1", "POST", "/tokens/"+id+"/rotate", `{}`)
	require.Equal(t, http.StatusConflict, code, "%v", replay)
	after, err := svc.Store.Get(t.Context(), token.ID(id))
	require.NoError(t, err)
	require.Equal(t, before.Version, after.Version, "rotated once")
	code, _, self := send(rotated["token"].(string), "", "GET", "/tokens/self", "")
	require.Equal(t, http.StatusOK, code, "%v", self)
}
