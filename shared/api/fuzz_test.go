package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"tokengate/shared/fault"
)

// FuzzDecode: any body, decoded as POST /tokens, rotate and emergency access decode
// theirs (the bodies of plain fields; those with json.RawMessage fields tell absent from
// null, which no round trip through a struct keeps).
// Properties: no panic; a refusal is always a client error (400 with named fields, 413
// or 415), never something writeError would answer 500; an accepted body re-encodes to
// JSON that decodes again to the same value (round trip), and holds no key twice, no
// case variant of a field and only valid UTF-8 (what strictJSON promises).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"ci","scopes":["tokens:read"],"expiresIn":"1m","rateLimit":{"limit":10,"per":"hour"}}`,
		`{"name":"a","name":"b"}`, `{"NAME":"x"}`, `{"name":"\ud800"}`, `{"superuser":null}`,
		`{"timeRestriction":{"days":["mon"],"startHour":9,"endHour":18}}`, `[]`, `{} {}`, ``,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`name=x`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{}`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		check := func(v any, again any) {
			r := httptest.NewRequest("POST", "/tokens", bytes.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			w := httptest.NewRecorder()
			err := decode(w, r, v, true)
			if err != nil {
				var invalid *fault.InvalidError
				var tooLarge *http.MaxBytesError
				if !errors.As(err, &invalid) && !errors.As(err, &tooLarge) && !errors.Is(err, errUnsupportedMedia) {
					t.Fatalf("a refusal writeError would answer 500: %v", err)
				}
				return
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("an accepted body does not encode again: %v", err)
			}
			r = httptest.NewRequest("POST", "/tokens", bytes.NewReader(out))
			r.Header.Set("Content-Type", "application/json")
			if err := decode(httptest.NewRecorder(), r, again, true); err != nil {
				t.Fatalf("%s re-encoded as %s is refused: %v", body, out, err)
			}
			if !reflect.DeepEqual(v, again) {
				t.Fatalf("round trip changed the value: %+v, then %+v", v, again)
			}
			if strings.Contains(contentType, "json") && !jsonValid(body) {
				t.Fatalf("accepted a body that is not JSON: %q", body)
			}
		}
		check(&createRequest{}, &createRequest{})
		check(&rotateRequest{}, &rotateRequest{})
		check(&emergencyRequest{}, &emergencyRequest{})
	})
}

// jsonValid is encoding/json's own view, for the property above (an empty body is the
// optional empty object).
func jsonValid(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0 || json.Valid(b)
}
