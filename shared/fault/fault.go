// Package fault holds the error kinds every layer returns and shared/api maps onto HTTP
// statuses in one place (api.writeError): not found, conflict, forbidden, invalid
// fields, wrong state, a dependency unavailable. They name no resource, so a token, a principal or an enrollment
// says the same thing the same way. Any other error is internal: its detail goes to the
// log, never to a client. It imports nothing of the project: every package may use it.
package fault

import (
	"errors"
	"strings"
)

var (
	// ErrNotFound: nothing with this id, or nothing the caller may see (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: it changed since it was read (409).
	ErrConflict = errors.New("changed concurrently")
	// ErrForbidden: the caller may see it but not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: a dependency (DynamoDB, KMS, SES) is down, slow or throttling, and
	// the call ran out of attempts or time; the same request may succeed later (503
	// with Retry-After). Use Unavailable to mark an error as such.
	ErrUnavailable = errors.New("a dependency is unavailable")
)

// Unavailable marks err as ErrUnavailable and keeps it for the log: errors.Is(e,
// ErrUnavailable) holds, and so does every errors.Is and errors.As that held for err.
func Unavailable(err error) error { return &unavailableError{err} }

type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return "unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// FieldError names one invalid input field and says what is wrong in words a client can show.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// InvalidError lists every invalid field of a request (400).
type InvalidError struct{ Fields []FieldError }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a problem with field.
func (e *InvalidError) Add(field, msg string) { e.Fields = append(e.Fields, FieldError{field, msg}) }

// Err returns e when it holds any field, else nil.
func (e *InvalidError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns an InvalidError for one field.
func Invalid(field, msg string) error { return &InvalidError{Fields: []FieldError{{field, msg}}} }

// ForbiddenError is ErrForbidden with a reason the client may read.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string        { return "forbidden: " + e.Reason }
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// StateError refuses an operation the current state does not allow, such as enabling a
// revoked token (409).
type StateError struct{ Reason string }

func (e *StateError) Error() string { return e.Reason }

// Excerpt is s cut to at most n characters ("…" marks the cut): how a message quotes
// what a caller sent, so that an answer or a log line never echoes a huge input.
func Excerpt(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
