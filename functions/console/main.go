// Command console serves the web console (GET /console/...) as a Lambda function: static
// files embedded in the binary, no AWS calls.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/boot"
	"tokengate/shared/console"
	"tokengate/shared/lambdahttp"
)

func main() {
	boot.Logger()
	h, err := console.New()
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	boot.ColdStart()
	lambda.Start(lambdahttp.Handler(h))
}
