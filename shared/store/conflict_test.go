package store

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func cancelled(codes ...string) error {
	e := &types.TransactionCanceledException{}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return fmt.Errorf("operation error DynamoDB: TransactWriteItems: %w", e)
}

// TestTransactionConflict: only a write that failed because another transaction held one
// of its items, and for no other reason, is tried again.
func TestTransactionConflict(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"other error", errors.New("connection reset"), false},
		{"TransactionConflictException", fmt.Errorf("put: %w", &types.TransactionConflictException{}), true},
		{"cancelled by a conflict", cancelled("None", "TransactionConflict", "None"), true},
		{"cancelled by a condition", cancelled("None", "ConditionalCheckFailed", "None"), false},
		{"cancelled by both", cancelled("TransactionConflict", "ConditionalCheckFailed"), false},
		{"cancelled without reasons", cancelled(), false},
		{"cancelled by throttling", cancelled("ThrottlingError"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, transactionConflict(tt.err)) })
	}
}

// TestRetryConflicts: a conflict is tried again up to conflictTries times, anything else
// is returned at once.
func TestRetryConflicts(t *testing.T) {
	ctx := context.Background()
	n := 0
	err := retryConflicts(ctx, func() error {
		n++
		if n < 3 {
			return cancelled("TransactionConflict")
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 3, n)

	n = 0
	err = retryConflicts(ctx, func() error { n++; return cancelled("TransactionConflict") })
	require.True(t, transactionConflict(err))
	require.Equal(t, conflictTries, n, "bounded")

	n = 0
	err = retryConflicts(ctx, func() error { n++; return cancelled("ConditionalCheckFailed") })
	require.Error(t, err)
	require.Equal(t, 1, n, "a failed condition is an answer, not a conflict")
}
