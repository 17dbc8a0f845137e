package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"tokengate/shared/fault"
)

// strictJSON checks what encoding/json lets through: invalid UTF-8 and lone surrogate
// escapes (it would store U+FFFD), an object key given twice (the last would win), a key
// that matches a field of v only when case is ignored (encoding/json would take
// "NAME" for "name"), and null where v wants true or false (it would read false).
func strictJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return fault.Invalid("", "the body is not valid UTF-8")
	}
	if err := checkSurrogates(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := walk(dec, reflect.TypeOf(v), ""); err != nil && err != errSyntax {
		return err
	}
	return nil
}

// errSyntax stops the walk at the first token that does not read: the decoder proper
// reports it with its offset. Without it a walk inside an array or object would ask
// dec.More forever, which stays true after a syntax error (found by FuzzDecode: "[M").
var errSyntax = errors.New("json syntax error")

// checkSurrogates refuses \ud800-\udfff escapes that are not a high surrogate followed
// by a low one: they name no character.
func checkSurrogates(b []byte) error {
	inString := false
	for i := 0; i < len(b); i++ {
		switch {
		case !inString:
			if b[i] == '"' {
				inString = true
			}
		case b[i] == '"':
			inString = false
		case b[i] == '\\' && i+1 < len(b):
			if b[i+1] != 'u' {
				i++
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return nil // malformed escape: the decoder reports it
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return fault.Invalid("", "the body holds a lone surrogate (\\u"+strings.ToLower(string(b[i+2:i+6]))+"): not a character")
			case r >= 0xD800 && r <= 0xDBFF:
				lo, ok := rune(0), false
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					lo, ok = hex4(b, i+8)
				}
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return fault.Invalid("", "the body holds a lone surrogate (\\u"+strings.ToLower(string(b[i+2:i+6]))+"): not a character")
				}
				i += 11
				continue
			}
			i += 5
		}
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

// walk reads one JSON value from dec, checking it against t (nil: any value).
func walk(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessage {
		t = nil // decoded strictly later, by its own type
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil
		}
		return errSyntax // reported by the decoder proper
	}
	if tok == nil && t != nil && t.Kind() == reflect.Bool {
		return fault.Invalid(path, "must be true or false, not null")
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errSyntax
		}
	case '{':
		fields := map[string]reflect.Type{}
		isStruct := t != nil && t.Kind() == reflect.Struct
		if isStruct {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous || name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				fields[name] = f.Type
			}
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errSyntax
			}
			key, _ := kt.(string)
			field := key
			if path != "" {
				field = path + "." + key
			}
			if seen[key] {
				return fault.Invalid(field, "is given twice")
			}
			seen[key] = true
			var ft reflect.Type
			if isStruct {
				var known bool
				ft, known = fields[key]
				if !known {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return fault.Invalid(field, fmt.Sprintf("is not a known field: field names are case-sensitive (did you mean %q?)", name))
						}
					}
				}
			} else if t != nil && t.Kind() == reflect.Map {
				ft = t.Elem()
			}
			if err := walk(dec, ft, field); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return errSyntax
		}
	}
	return nil
}
