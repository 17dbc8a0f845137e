// Command reportleaked serves POST /leaked-tokens as a Lambda function: anyone may report
// leaked token strings; valid ones are revoked and their owners emailed.
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
	lambda.Start(lambdahttp.Handler(api.ReportLeaked(s.Tokens, s.LeakNotices, s.Rates)))
}
