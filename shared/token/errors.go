package token

import (
	"errors"
	"fmt"
	"strings"
)

// Errors that callers map onto HTTP statuses (shared/api does it in one place). Any other
// error is internal: its detail goes to the log, never to a client.
var (
	// ErrNotFound: no token with this id, or one the caller may not see (404).
	ErrNotFound = errors.New("token not found")
	// ErrConflict: the token changed since it was read (409).
	ErrConflict = errors.New("token changed concurrently")
	// ErrOwnerChanged: a new token was not written because its owner principal is no
	// longer the one its rules were decided on (Store.Create). It is an ErrConflict: a
	// caller that does not decide again answers 409.
	ErrOwnerChanged = fmt.Errorf("%w: the owner principal changed", ErrConflict)
	// ErrForbidden: the caller may see the token but not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrMalformed: not a well-formed token string (bad shape or checksum).
	ErrMalformed = errors.New("malformed token")
	// ErrForged: a well-formed token string whose tag does not verify: not made by
	// tokengate (or by a pepper version no longer in use).
	ErrForged = errors.New("token tag does not verify")
)

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

// StateError refuses an operation the token's status does not allow, such as enabling
// a revoked token (409).
type StateError struct{ Reason string }

func (e *StateError) Error() string { return e.Reason }
