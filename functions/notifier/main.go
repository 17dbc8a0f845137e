// Command notifier is the expiry notifier, run by an EventBridge schedule: it warns
// owners and the configured addresses of tokens that expire soon.
package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"tokengate/shared/boot"
	"tokengate/shared/notifier"
	"tokengate/shared/notify"
)

func main() {
	boot.ServeNotifier(func(cfg aws.Config, endpoint *string, from, consoleURL string) notifier.Mailer {
		m := notify.NewMailer(cfg, endpoint, from)
		m.ConsoleURL = consoleURL
		return m
	})
}
