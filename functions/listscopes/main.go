// Command listscopes serves GET /scopes as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.ServeCatalog(api.Scopes) }
