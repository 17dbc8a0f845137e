// Command disabletoken serves POST /tokens/{id}/disable as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.DisableToken) }
