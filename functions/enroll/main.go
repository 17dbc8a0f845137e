// Command enroll serves POST /enroll as a Lambda function: a principal exchanges its
// one-time enrollment secret for its first token. No authorizer: the secret is the proof.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Exchange, api.Enroll) }
