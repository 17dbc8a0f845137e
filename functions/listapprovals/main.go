// Command listapprovals serves GET /approvals as a Lambda function.
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
	s, err := boot.Load(context.Background(), os.Getenv, boot.Table)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	boot.ColdStart()
	lambda.Start(lambdahttp.Handler(api.ListApprovals(s.Tokens)))
}
