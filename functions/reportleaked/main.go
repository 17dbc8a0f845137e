// Command reportleaked serves POST /leaked-tokens as a Lambda function: anyone may report
// leaked token strings; valid ones are revoked and their owners emailed.
package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/notify"
	"tokengate/shared/store"
)

func main() {
	boot.ServeLeaked(func(cfg aws.Config, endpoint *string, from string, tb *store.Table) api.LeakNotifier {
		return &notify.LeakNotices{Mailer: notify.NewMailer(cfg, endpoint, from), Principals: tb}
	})
}
