package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"tokengate/shared/fault"
)

// MaxBodyBytes is the largest request body accepted (413 beyond).
const MaxBodyBytes = 64 << 10

var errUnsupportedMedia = errors.New("unsupported media type")

// decode reads a JSON object into v: at most 64 KiB, unknown fields refused, one value
// only, and strictly (strictJSON: valid UTF-8, no lone surrogates, no duplicate keys,
// keys matched case-sensitively, no null for a boolean). Every failure names the field
// when it can. An empty body decodes as {} when optional is true.
//
// A body must come as application/json (or a +json type): anything else, a missing
// Content-Type included, is 415. Form-encoded and text/plain bodies are what a browser
// may post cross-site without asking (a "simple" request); refusing them means no page
// can make a visitor's browser post to tokengate.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !jsonMedia(ct) {
		return errUnsupportedMedia
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return fmt.Errorf("read body: %w: %w", errBodyUnread, err)
	}
	if ct == "" && len(body) > 0 {
		return errUnsupportedMedia
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if optional {
			return nil
		}
		return fault.Invalid("", "a JSON object body is required")
	}
	if err := strictJSON(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Only white space may follow the object: dec.More alone lets a stray "}" or "]"
	// through (found by FuzzDecode: "{}}").
	if rest := body[dec.InputOffset():]; len(bytes.TrimSpace(rest)) > 0 {
		return fault.Invalid("", "the body must hold exactly one JSON object")
	}
	return nil
}

// jsonMedia reports whether a Content-Type names JSON: application/json or a +json type,
// with any parameters (charset=utf-8).
func jsonMedia(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// jsonError turns a decoding error into a field error a client can act on.
func jsonError(err error) error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return fault.Invalid("", fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return fault.Invalid("", "the body must be a JSON object")
		}
		return fault.Invalid(field, fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.Invalid("", "malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Invalid(name, "is not a known field")
	}
	return fault.Invalid("", "malformed JSON: "+err.Error())
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}
