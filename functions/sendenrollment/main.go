// Command sendenrollment serves POST /principals/{id}/enrollment as a Lambda function:
// an admin has a one-time enrollment secret mailed to a principal.
package main

import (
	"net/http"

	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() {
	boot.ServeDeps(func(d *boot.Deps) http.Handler { return api.SendEnrollment(d.Enroller()) })
}
