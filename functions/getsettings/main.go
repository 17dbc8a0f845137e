// Command getsettings serves GET /settings as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.SystemSettings, api.GetSettings) }
