// Command createprincipal serves POST /principals as a Lambda function; a principal with
// an email address is mailed its enrollment secret.
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
	s, err := boot.Load(context.Background(), os.Getenv, boot.Pepper|boot.Mail)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	boot.ColdStart()
	lambda.Start(lambdahttp.Handler(api.CreatePrincipalAndEnroll(s.Principals, s.Enroller)))
}
