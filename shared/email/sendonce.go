package email

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"tokengate/shared/expirynotice"
)

// A message must go out once. The SDK retries a call whose answer was lost (a reset or a
// timeout after the request was sent); for SendEmail that would mail the recipient
// twice or three times. So SendEmail is retried only when SES surely did not send: it
// answered with an error (throttling, a 5xx: SES says it did not accept the message), or
// the connection never opened. When the answer is lost the error wraps
// expirynotice.ErrMaybeSent, and the notifier keeps its claim rather than send again.

// sendOnce is the SDK's retryer, minus the retries of calls that may have gone through.
type sendOnce struct{ aws.RetryerV2 }

func (r sendOnce) IsErrorRetryable(err error) bool {
	return !maybeSent(err) && r.RetryerV2.IsErrorRetryable(err)
}

// maybeSent reports whether SES may have accepted the request err is about: it was sent
// and no answer came back.
func maybeSent(err error) bool {
	var send *smithyhttp.RequestSendError
	if !errors.As(err, &send) {
		return false // SES answered (an error it returned says nothing was sent)
	}
	var op *net.OpError
	return !errors.As(err, &op) || op.Op != "dial"
}

// markMaybeSent wraps err in expirynotice.ErrMaybeSent when SES may have sent the message.
func markMaybeSent(err error) error {
	if err != nil && maybeSent(err) {
		return errors.Join(expirynotice.ErrMaybeSent, err)
	}
	return err
}

func withSendOnce(o *ses.Options) {
	std := o.Retryer
	if std == nil {
		std = retry.NewStandard()
	}
	v2, ok := std.(aws.RetryerV2)
	if !ok {
		v2 = retry.NewStandard()
	}
	o.Retryer = sendOnce{v2}
}
