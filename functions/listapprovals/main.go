// Command listapprovals serves GET /approvals as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Tokens, api.ListApprovals) }
