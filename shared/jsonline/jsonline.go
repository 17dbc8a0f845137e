// Package jsonline helps write JSON log lines by hand, for the lines written on every
// request (the authorizer's decision, the local gateway's access log), where a generic
// encoder's cost shows.
package jsonline

import "encoding/json"

// AppendString appends s as a JSON string. Printable ASCII other than the quote and the
// backslash is copied as it is; anything else (control characters, non-ASCII, bytes that
// are not UTF-8: a route, path or address is the caller's input) goes through
// encoding/json, which escapes it, so a value can never end the line or the object.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, err := json.Marshal(s)
			if err != nil {
				return append(b, `""`...)
			}
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
