// Command approvetoken serves POST /approvals/{id}/approve as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.ApproveToken) }
