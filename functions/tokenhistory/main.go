// Command tokenhistory serves GET /tokens/{id}/history as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.TokenHistory) }
