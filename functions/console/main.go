// Command console serves the web console (GET /console/...) as a Lambda function: static
// files embedded in the binary, no AWS calls, so it links no AWS client.
package main

import (
	"tokengate/shared/console"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/lambdaruntime"
	"tokengate/shared/logging"
)

func main() {
	logging.Setup()
	logging.ColdStart()
	logging.Fatal(lambdaruntime.Start(lambdahttp.Handler(console.Site())))
}
