package localtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"
)

var (
	openAPIOnce   sync.Once
	openAPIDoc    *openapi3.T
	openAPIRouter routers.Router
	openAPIErr    error
)

// OpenAPI loads and validates docs/openapi.yaml (OpenAPI 3.1: kin-openapi v0.153.0 reads
// it and validates bodies with JSON Schema 2020-12), with a router matching its paths on
// any host.
func OpenAPI(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	openAPIOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			openAPIErr = err
			return
		}
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(root, "docs", "openapi.yaml"))
		if err != nil {
			openAPIErr = err
			return
		}
		if err = doc.Validate(context.Background()); err != nil {
			openAPIErr = err
			return
		}
		routed := *doc
		routed.Servers = nil // tests listen anywhere
		openAPIDoc = doc
		openAPIRouter, openAPIErr = legacy.NewRouter(&routed)
	})
	require.NoError(t, openAPIErr, "docs/openapi.yaml")
	return openAPIDoc, openAPIRouter
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// CheckResponse fails t unless the response to req conforms to docs/openapi.yaml:
// status, headers, content type and body. A route the document does not describe (the
// demo API; TestOpenAPIDocument keeps the management API's routes all described) may
// answer as it likes, but a refusal is a problem there too.
func CheckResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	_, router := OpenAPI(t)
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status >= 400 {
			require.Equal(t, "application/problem+json", header.Get("Content-Type"), "%s %s: a refusal on an undocumented route answered %d", req.Method, req.URL.Path, status)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		t.Errorf("%s %s answered %d, not as docs/openapi.yaml says: %v\n%s", req.Method, req.URL.Path, status, err, body)
	}
}

// CheckRequestBody fails t where the handler and docs/openapi.yaml disagree on the
// request body sent with req: the handler accepted it (2xx) but the document refuses it,
// or the document accepts it but the handler refused a field of it as unknown (400). So
// the document's bodies are the strict schemas the handlers decode, neither looser nor
// tighter, for every body a test sends.
func CheckRequestBody(t testing.TB, req *http.Request, body []byte, status int, answer []byte) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	_, router := OpenAPI(t)
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json") // the handlers take a body without one as JSON
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		return // undocumented: CheckResponse has its say
	}
	err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestQueryParams: true},
	})
	switch {
	case status >= 200 && status < 300 && err != nil:
		t.Errorf("%s %s accepted a body docs/openapi.yaml refuses: %v\n%s", req.Method, req.URL.Path, err, body)
	case status == http.StatusBadRequest && err == nil && bytes.Contains(answer, []byte("is not a known field")):
		t.Errorf("%s %s: docs/openapi.yaml accepts a field the handler refuses: %s\n%s", req.Method, req.URL.Path, answer, body)
	}
}

// CheckOpenAPI is an http.RoundTripper that runs CheckResponse on every response, and
// CheckRequestBody on every body sent.
func CheckOpenAPI(t testing.TB, next http.RoundTripper) http.RoundTripper {
	OpenAPI(t)
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		var sent []byte
		if req.Body != nil {
			var err error
			if sent, err = io.ReadAll(req.Body); err != nil {
				return nil, err
			}
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(sent))
		}
		res, err := next.RoundTrip(req)
		if err != nil {
			return res, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		CheckResponse(t, req, res.StatusCode, res.Header, body)
		CheckRequestBody(t, req, sent, res.StatusCode, body)
		return res, nil
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
