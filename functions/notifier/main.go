// Command notifier is the expiry notifier, run by an EventBridge schedule: it warns
// owners and the configured addresses of tokens that expire soon. The event carries
// nothing the run needs. A run that cannot read the index returns its error, so Lambda
// retries it; failed messages are released for the next run instead.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/boot"
)

func main() {
	boot.Logger()
	n, err := boot.Notifier(context.Background(), os.Getenv)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	boot.ColdStart()
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error {
		_, err := n.Run(ctx)
		return err
	})
}
