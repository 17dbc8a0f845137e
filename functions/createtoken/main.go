// Command createtoken serves POST /tokens as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Issuing, api.CreateToken) }
