// Command selftoken serves GET /tokens/self as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.SelfToken) }
