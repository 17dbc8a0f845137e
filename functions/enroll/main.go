// Command enroll serves POST /enroll as a Lambda function: a principal exchanges its
// one-time enrollment secret for its first token. No authorizer: the secret is the proof.
package main

import (
	"net/http"

	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() {
	boot.ServeDeps(func(d *boot.Deps) http.Handler { return api.Enroll(d.Enroller(), d.Table) })
}
