// Command deleteprincipal serves DELETE /principals/{id} as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Principals, api.DeletePrincipal) }
