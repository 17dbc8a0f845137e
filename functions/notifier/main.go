// Command notifier is the expiry notifier, run by an EventBridge schedule: it warns
// owners and the configured addresses of tokens that expire soon. The event carries
// nothing the run needs. A run that cannot read the index returns its error, so Lambda
// retries it; failed messages are released for the next run instead.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/boot"
	"tokengate/shared/logging"
)

func main() {
	logging.Setup()
	n, err := boot.Notifier(context.Background(), os.Getenv)
	if err != nil {
		logging.Fatal(err)
	}
	logging.ColdStart()
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error {
		_, err := n.Run(ctx)
		return err
	})
}
