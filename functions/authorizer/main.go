// Command authorizer is the tokengate Lambda authorizer for API Gateway: it validates
// the token of each request to a protected API and answers allow or deny.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/boot"
)

func main() {
	boot.Logger()
	p, err := boot.Authorizer(context.Background(), os.Getenv) // serves, refusing all, before bootstrap
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	lambda.StartWithOptions(p.LambdaHandler(), lambda.WithEnableSIGTERM(p.OnSIGTERM))
}
