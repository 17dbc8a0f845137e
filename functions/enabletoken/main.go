// Command enabletoken serves POST /tokens/{id}/enable as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.EnableToken) }
