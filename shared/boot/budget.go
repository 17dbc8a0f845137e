package boot

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"tokengate/shared/fault"
)

// The time budget of one AWS call, chosen with the functions' Timeout in template.yaml
// (docs/operations.md): an API function has 10 s, and the longest one call can take is
// AttemptTimeout × MaxAttempts plus the backoffs between them, at most
// (MaxAttempts-1) × MaxBackoff: 3 × 2 s + 2 × 0.5 s = 7 s. The request itself ends a
// second before the function (lambdahttp.AnswerMargin), so a handler that makes several
// calls still answers, 503, before Lambda would kill it.
const (
	// AttemptTimeout bounds one HTTP attempt, connection and body included: DynamoDB,
	// KMS and SES answer in milliseconds when well, so two seconds is an outage.
	AttemptTimeout = 2 * time.Second
	// MaxAttempts is the SDK's standard retry count: one call and two retries, with
	// jittered exponential backoff capped at MaxBackoff. The SDK's retry token bucket
	// stops retrying at once while most calls fail, so an outage costs one attempt.
	MaxAttempts = 3
	MaxBackoff  = 500 * time.Millisecond
)

// CallBudget is the longest one AWS call can take under the settings above.
const CallBudget = MaxAttempts*AttemptTimeout + (MaxAttempts-1)*MaxBackoff

// budgeted returns cfg with the attempt timeout, the retry budget and the unavailable
// classification on every client made from it.
func budgeted(cfg aws.Config) aws.Config {
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(AttemptTimeout).
		WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = AttemptTimeout })
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = MaxAttempts
			o.MaxBackoff = MaxBackoff
		})
	}
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(markUnavailable, middleware.Before)
	})
	return cfg
}

// markUnavailable runs around every call, retries included, and marks its final error
// fault.ErrUnavailable when the dependency was down, slow or throttling: the one place
// an AWS failure becomes a 503 (api.writeError) rather than a 500.
var markUnavailable = middleware.InitializeMiddlewareFunc("tokengateUnavailable",
	func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil && Unavailable(err) {
			err = fault.Unavailable(err)
		}
		return out, md, err
	})

// Unavailable reports whether err says the dependency, not the request, failed: the
// call ran out of time (an attempt, or the request's deadline), could not connect or was
// reset, was throttled, met a 5xx, exhausted its retries or the retry token bucket, or
// (DynamoDB) a transaction was cancelled for throttling or a conflict. A refused
// condition, a validation error or access denied is not: they would fail again.
func Unavailable(err error) bool {
	var (
		quota     ratelimit.QuotaExceededError
		attempts  *retry.MaxAttemptsError
		cancelled *types.TransactionCanceledException
		conflict  *types.TransactionConflictException
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &quota), errors.As(err, &attempts), errors.As(err, &conflict):
		return true
	case errors.As(err, &cancelled):
		for _, r := range cancelled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "TransactionConflict":
				return true
			}
		}
		return false
	}
	retryable := retry.IsErrorRetryables(append(append([]retry.IsErrorRetryable{}, retry.DefaultRetryables...),
		retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			var timeout interface{ Timeout() bool }
			if errors.As(err, &timeout) && timeout.Timeout() {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		})))
	return retryable.IsErrorRetryable(err).Bool()
}
