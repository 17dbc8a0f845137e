package boot

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"tokengate/shared/api"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/store"
)

// LeakNotifierFunc makes what tells owners about revoked leaked tokens, on SES
// (notify.LeakNotices). It is passed in, so that package boot does not link SES.
type LeakNotifierFunc func(cfg aws.Config, endpoint *string, from string, tb *store.Table) api.LeakNotifier

// LeakedHandler builds POST /leaked-tokens from loaded deps.
func (d *Deps) LeakedHandler(notifier LeakNotifierFunc) (*api.LeakedRoute, error) {
	ns, err := LoadNotifierSettings(nil)
	if err != nil {
		return nil, err
	}
	return &api.LeakedRoute{
		Tokens: d.TokenService(), Notifier: notifier(d.Clients.AWS, Endpoint("SES"), ns.Sender, d.Table),
		Rates: d.Table, Now: time.Now, AnswerAfter: api.LeakAnswerAfter,
	}, nil
}

// ServeLeaked is the whole main of the leaked-token report function.
func ServeLeaked(notifier LeakNotifierFunc) {
	Logger()
	d, err := Load(context.Background())
	if err == nil {
		var h *api.LeakedRoute
		if h, err = d.LeakedHandler(notifier); err == nil {
			ColdStart()
			lambda.Start(lambdahttp.Handler(h))
			return
		}
	}
	slog.Error("cold start failed", "err", err)
	os.Exit(1)
}
