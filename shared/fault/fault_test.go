package fault_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/fault"
)

func TestKinds(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		forbidden bool
		invalid   []fault.FieldError
		text      string
	}{
		{"a reason is still ErrForbidden", &fault.ForbiddenError{Reason: "needs tokens:admin"}, true, nil, "forbidden: needs tokens:admin"},
		{"wrapped, it still is", fmt.Errorf("create: %w", &fault.ForbiddenError{Reason: "x"}), true, nil, "create: forbidden: x"},
		{"one field", fault.Invalid("name", "is required"), false, []fault.FieldError{{Field: "name", Message: "is required"}}, "invalid input: name: is required"},
		{"a state is no refusal of authority", &fault.StateError{Reason: "the token is revoked"}, false, nil, "the token is revoked"},
		{"words name no resource", fault.ErrConflict, false, nil, "changed concurrently"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.forbidden, errors.Is(tt.err, fault.ErrForbidden))
			var inv *fault.InvalidError
			require.Equal(t, tt.invalid != nil, errors.As(tt.err, &inv))
			if tt.invalid != nil {
				require.Equal(t, tt.invalid, inv.Fields)
			}
			require.Equal(t, tt.text, tt.err.Error())
		})
	}
}

func TestInvalidErrorCollectsEveryField(t *testing.T) {
	bad := &fault.InvalidError{}
	require.NoError(t, bad.Err(), "no field: no error")
	bad.Add("name", "is required")
	bad.Add("scopes", "unknown scope")
	require.EqualError(t, bad.Err(), "invalid input: name: is required; scopes: unknown scope")
}

func TestUnavailableKeepsTheCause(t *testing.T) {
	cause := &fault.StateError{Reason: "throttled"}
	err := fmt.Errorf("create: %w", fault.Unavailable(cause))
	require.ErrorIs(t, err, fault.ErrUnavailable)
	var st *fault.StateError
	require.ErrorAs(t, err, &st, "the cause is still there for the log")
	require.Equal(t, "create: unavailable: throttled", err.Error())
	require.NotErrorIs(t, cause, fault.ErrUnavailable)
}

func TestExcerptCutsLongInput(t *testing.T) {
	require.Equal(t, "abc", fault.Excerpt("abc", 3))
	require.Equal(t, "ab…", fault.Excerpt("abc", 2))
	require.Equal(t, "日本…", fault.Excerpt("日本語", 2), "characters, not bytes")
}
