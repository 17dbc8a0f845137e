// Command listroles serves GET /roles as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.ServeCatalog(api.Roles) }
