package console_test

import (
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/console"
)

func TestHandler(t *testing.T) {
	h, err := console.New()
	require.NoError(t, err)
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	index := get("GET", "/console/")
	script := regexp.MustCompile(`assets/app\.[0-9a-f]{12}\.js`).FindString(index.Body.String())
	require.NotEmpty(t, script, "index.html names the hashed script")
	icon := regexp.MustCompile(`assets/favicon\.[0-9a-f]{12}\.svg`).FindString(index.Body.String())
	require.NotEmpty(t, icon, "index.html names the hashed icon: no favicon.ico 404 on load")

	tests := []struct {
		name, method, path string
		status             int
		cache, location    string
	}{
		{"index is never cached", "GET", "/console/", 200, "no-cache", ""},
		{"behind a stage prefix too", "GET", "/Prod/console/", 200, "no-cache", ""},
		{"hashed assets are cached for a year", "GET", "/console/" + script, 200, "public, max-age=31536000, immutable", ""},
		{"HEAD works", "HEAD", "/console/" + script, 200, "public, max-age=31536000, immutable", ""},
		{"the unhashed name is not served", "GET", "/console/assets/app.js", 404, "no-store", ""},
		{"index.html only as /console/", "GET", "/console/assets/index.html", 404, "no-store", ""},
		{"other paths are unknown (pages are #/ routes)", "GET", "/console/tokens", 404, "no-store", ""},
		{"no trailing slash: relative redirect keeps the stage", "GET", "/console", 301, "", "console/"},
		{"read only", "POST", "/console/", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(tt.method, tt.path)
			require.Equal(t, tt.status, w.Code)
			require.Equal(t, console.CSP, w.Header().Get("Content-Security-Policy"), "every answer carries the CSP")
			require.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			require.Equal(t, "no-referrer", w.Header().Get("Referrer-Policy"))
			require.Equal(t, tt.cache, w.Header().Get("Cache-Control"))
			require.Equal(t, tt.location, w.Header().Get("Location"))
		})
	}
	require.Equal(t, "text/html; charset=utf-8", index.Header().Get("Content-Type"))
	require.Contains(t, get("GET", "/console/"+script).Header().Get("Content-Type"), "javascript")
	require.Equal(t, "image/svg+xml", get("GET", "/console/"+icon).Header().Get("Content-Type"))
}
