package lambdaruntime

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPanicIsAnErrorAnswer: a handler that panics answers an error for that event
// instead of ending the instance.
func TestAPanicIsAnErrorAnswer(t *testing.T) {
	out, err := invoke(context.Background(), func(context.Context, json.RawMessage) (any, error) { panic("boom") }, nil)
	require.Nil(t, out)
	require.EqualError(t, err, "panic: boom")
}

// TestErrorPayloadIsTheRuntimeAPIs: the error body Lambda reports, with the error's type.
func TestErrorPayloadIsTheRuntimeAPIs(t *testing.T) {
	var got struct{ ErrorMessage, ErrorType string }
	require.NoError(t, json.Unmarshal(errorPayload(errors.New("no")), &got))
	require.Equal(t, "no", got.ErrorMessage)
	require.Equal(t, "errors.errorString", got.ErrorType)
}

// TestStartNeedsTheRuntimeAPI: outside Lambda and its emulator, Start says so at once.
func TestStartNeedsTheRuntimeAPI(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	require.ErrorContains(t, Start(nil), "AWS_LAMBDA_RUNTIME_API is not set")
}
