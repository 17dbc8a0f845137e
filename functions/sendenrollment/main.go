// Command sendenrollment serves POST /principals/{id}/enrollment as a Lambda function:
// an admin has a one-time enrollment secret mailed to a principal.
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
	lambda.Start(lambdahttp.Handler(api.SendEnrollment(s.Enroller)))
}
