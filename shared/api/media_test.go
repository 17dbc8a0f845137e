package api

import "testing"

func TestJSONMedia(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"Application/JSON":                  true,
		"application/merge-patch+json":      true,
		"application/problem+json":          true,
		"":                                  false,
		"text/plain":                        false,
		"text/json":                         false,
		"application/x-www-form-urlencoded": false,
		"multipart/form-data; boundary=x":   false,
		"application/jsonx":                 false,
		"application/json; charset":         false, // malformed parameter
		"text/plain+json":                   false, // only application/ types
	} {
		if got := jsonMedia(ct); got != want {
			t.Errorf("jsonMedia(%q) = %v, want %v", ct, got, want)
		}
	}
}
