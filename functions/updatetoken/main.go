// Command updatetoken serves PATCH /tokens/{id} as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.UpdateToken) }
