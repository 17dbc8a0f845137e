// Command demoecho serves GET /demo/echo, the example API protected by the tokengate
// authorizer, as a Lambda function. It makes no AWS call, so it links no AWS client.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/lambdaruntime"
	"tokengate/shared/logging"
)

func main() {
	logging.Setup()
	logging.ColdStart()
	logging.Fatal(lambdaruntime.Start(lambdahttp.Handler(api.DemoEcho())))
}
