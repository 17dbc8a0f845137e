// Command sendenrollment serves POST /principals/{id}/enrollment as a Lambda function:
// an admin has a one-time enrollment secret mailed to a principal.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.Enrolling, api.SendEnrollment) }
