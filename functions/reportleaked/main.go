// Command reportleaked serves POST /leaked-tokens as a Lambda function: anyone may report
// leaked token strings; valid ones are revoked and their owners emailed.
package main

import (
	"tokengate/shared/api"
	"tokengate/shared/boot"
)

func main() { boot.Serve(boot.LeakReporting, api.ReportLeaked) }
