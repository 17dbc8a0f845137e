// Command demoecho serves GET /demo/echo, the example API protected by the tokengate
// authorizer, as a Lambda function.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/lambdahttp"
)

func main() {
	boot.Logger()
	boot.ColdStart()
	lambda.Start(lambdahttp.Handler(api.DemoEcho()))
}
