// Command createprincipal serves POST /principals as a Lambda function; a principal with
// an email address is mailed its enrollment secret.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Enrolling, api.CreatePrincipalAndEnroll) }
