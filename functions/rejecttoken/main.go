// Command rejecttoken serves POST /approvals/{id}/reject as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.RejectToken) }
