// Command authorizer is the tokengate Lambda authorizer for API Gateway: it validates
// the token of each request to a protected API and answers allow or deny.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/boot"
	"tokengate/shared/logging"
)

func main() {
	logging.Setup()
	f, err := boot.Authorizer(context.Background(), os.Getenv) // serves, refusing all, before bootstrap
	if err != nil {
		logging.Fatal(err)
	}
	lambda.StartWithOptions(f.LambdaHandler(), lambda.WithEnableSIGTERM(f.OnSIGTERM))
}
