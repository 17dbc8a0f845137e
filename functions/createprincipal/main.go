// Command createprincipal serves POST /principals as a Lambda function; a principal with
// an email address is mailed its enrollment secret.
package main

import (
	"net/http"

	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() {
	boot.ServeDeps(func(d *boot.Deps) http.Handler {
		return api.CreatePrincipalAndEnroll(d.PrincipalService(), d.Enroller())
	})
}
