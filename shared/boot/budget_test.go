package boot_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/require"

	"tokengate/shared/boot"
)

// TestUnavailable is the rule that turns an AWS failure into a 503 rather than a 500:
// the dependency failed, not the request.
func TestUnavailable(t *testing.T) {
	api := func(code string, fault smithy.ErrorFault) error {
		return &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}
	}
	cancelled := func(reasons ...string) error {
		e := &types.TransactionCanceledException{}
		for _, r := range reasons {
			e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(r)})
		}
		return e
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		// The dependency is down, slow or throttling.
		{"the request's deadline passed", fmt.Errorf("get item: %w", context.DeadlineExceeded), true},
		{"connection refused", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, true},
		{"DynamoDB throttling", api("ThrottlingException", smithy.FaultClient), true},
		{"provisioned throughput exceeded", api("ProvisionedThroughputExceededException", smithy.FaultClient), true},
		{"SES throttling", api("Throttling", smithy.FaultClient), true},
		{"retries exhausted", &retry.MaxAttemptsError{Attempt: 3, Err: errors.New("x")}, true},
		{"retry token bucket empty", fmt.Errorf("get token: %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}), true},
		{"a transaction cancelled for throttling", cancelled("None", "ThrottlingError"), true},
		{"a transaction cancelled for a conflict", cancelled("TransactionConflict"), true},
		{"a transaction conflict", &types.TransactionConflictException{}, true},
		// The request itself failed: the same request would fail again.
		{"a condition failed", &types.ConditionalCheckFailedException{}, false},
		{"a transaction cancelled by a condition", cancelled("ConditionalCheckFailed", "None"), false},
		{"access denied", api("AccessDeniedException", smithy.FaultClient), false},
		{"validation", api("ValidationException", smithy.FaultClient), false},
		{"the caller went away", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, boot.Unavailable(tt.err))
		})
	}
}
