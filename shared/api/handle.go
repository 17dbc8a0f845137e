package api

// The plumbing every operation shares: the caller, the query string, If-Match, and the
// one place an error becomes a response (writeError, problem.go).

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"tokengate/shared/access"
	"tokengate/shared/fault"
)

// handlerFunc is an operation: it writes a success response or returns an error for
// writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c access.Caller) error

// handle runs f for an authenticated caller on a route that takes no query parameter,
// and maps its error.
func handle(f handlerFunc) http.Handler { return handleQuery(nil, f) }

// handleQuery is handle for a route that takes the query parameters params: any other,
// or a malformed query string, is 400 before f runs.
func handleQuery(params []string, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := access.CallerFrom(r.Context())
		if !ok {
			writeError(w, r, errUnauthenticated)
			return
		}
		if err := checkQuery(r, params); err != nil {
			writeError(w, r, err)
			return
		}
		if err := f(w, r, c); err != nil {
			writeError(w, r, err)
		}
	})
}

// checkQuery refuses a query string that is malformed (bad percent-encoding, invalid
// UTF-8), names a parameter the route does not take, or gives one twice: a filter the server silently
// dropped would answer with more than the client asked for.
func checkQuery(r *http.Request, allowed []string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fault.Invalid("", "the query string is malformed (check its percent-encoding)")
	}
	bad := &fault.InvalidError{}
	for k, vs := range q {
		if !utf8.ValidString(k) {
			bad.Add("", "the query string is not valid UTF-8")
			continue
		}
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				bad.Add(k, "is not a known query parameter (this route takes none)")
			} else {
				bad.Add(k, "is not a known query parameter ("+strings.Join(allowed, ", ")+")")
			}
			continue
		}
		if len(vs) > 1 {
			bad.Add(k, "give it once")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				bad.Add(k, "is not valid UTF-8")
			}
		}
	}
	return bad.Err()
}

// page reads limit (1-100, default 50) and cursor; checkQuery has refused any other
// parameter and any given twice.
func page(q url.Values, bad *fault.InvalidError) (int, string) {
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			bad.Add("limit", "must be a whole number from 1 to 100")
		}
		limit = n
	}
	return limit, q.Get("cursor")
}

// ifMatch reads an optional If-Match header: the version the client last read ("3" or
// 3). 0 means no header.
func ifMatch(r *http.Request) (int64, error) {
	s := r.Header.Get("If-Match")
	if s == "" {
		return 0, nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, fault.Invalid("If-Match", "must be the version number last read")
	}
	return n, nil
}
