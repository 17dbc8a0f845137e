// Command emergencyon serves POST /tokens/{id}/emergency-access as a Lambda function.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.ServeTokenWithoutPepper(api.EmergencyOn) }
