// Package console serves the tokengate web console: one HTML page, one script, one
// style sheet and an SVG icon, embedded in the binary. The page talks only to the public management API,
// same-origin, with a temporary session token it keeps in sessionStorage; nothing here
// reads the table or sees a token.
//
// Assets are served under content-hashed names (assets/app.3f9c….js) and cached for a
// year; index.html names them and is never cached, so a deploy takes effect on the next
// load. Every answer carries a strict Content-Security-Policy: no inline script or style,
// nothing from another origin, no framing.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every console response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file under its hashed name.
type asset struct {
	body        []byte
	contentType string
}

// Handler serves the console. Mount it on GET /console and GET /console/{proxy...}.
type Handler struct {
	index  []byte
	assets map[string]asset // "app.<hash>.js" -> file
}

// New builds the handler from the embedded files, hashing each asset once.
func New() (*Handler, error) {
	h := &Handler{assets: map[string]asset{}}
	index, err := assets.ReadFile("assets/index.html")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	entries, err := fs.ReadDir(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "index.html" {
			continue
		}
		body, err := assets.ReadFile("assets/" + name)
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		h.assets[hashed] = asset{body: body, contentType: mime.TypeByExtension(ext)}
		// index.html names assets as "assets/app.js"; point it at the hashed name.
		index = bytes.ReplaceAll(index, []byte(`"assets/`+name+`"`), []byte(`"assets/`+hashed+`"`))
	}
	h.index = index
	return h, nil
}

// Site is the console as a function serves it. Its files are embedded in the binary,
// so New fails only with a broken build; then every request is answered 500
// (problem+json) and the reason logged.
func Site() http.Handler {
	h, err := New()
	if err == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.ErrorContext(r.Context(), "console unavailable", "err", err)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"The console could not be loaded."}`))
	})
}

// Assets returns the hashed asset names with their sizes in bytes, and the size of
// index.html: the console's whole weight.
func (h *Handler) Assets() (index int, files map[string]int) {
	files = map[string]int{}
	for name, a := range h.assets {
		files[name] = len(a.body)
	}
	return len(h.index), files
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	i := strings.Index(p, "/console")
	if i < 0 {
		http.NotFound(w, r)
		return
	}
	rest := p[i+len("/console"):]
	switch {
	case rest == "":
		// Relative, so it keeps a stage prefix (/Prod/console -> /Prod/console/).
		hd.Set("Location", "console/")
		w.WriteHeader(http.StatusMovedPermanently)
	case strings.HasPrefix(rest, "/assets/"):
		a, ok := h.assets[strings.TrimPrefix(rest, "/assets/")]
		if !ok {
			hd.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		hd.Set("Content-Type", a.contentType)
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(a.body)
	case rest == "/":
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Cache-Control", "no-cache")
		_, _ = w.Write(h.index)
	default:
		hd.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
	}
}
