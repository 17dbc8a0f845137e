// Command enroll serves POST /enroll as a Lambda function: a principal exchanges its
// one-time enrollment secret for its first token. No authorizer: the secret is the proof.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/lambdahttp"
)

func main() {
	boot.Logger()
	s, err := boot.Load(context.Background(), os.Getenv, boot.Pepper)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	boot.ColdStart()
	lambda.Start(lambdahttp.Handler(api.Enroll(s.Enroller, s.Rates)))
}
