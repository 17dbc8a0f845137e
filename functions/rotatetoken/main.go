// Command rotatetoken serves POST /tokens/{id}/rotate as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Issuing, api.RotateToken) }
