package boot

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/lambdahttp"
	"tokengate/shared/notify"
	"tokengate/shared/principal"
)

// Enroller is the enrollment of d: enrollments and principals in d's table, first tokens
// minted by d's token service, mails through SES from NOTIFICATION_SENDER.
func (d *Deps) Enroller() *principal.Enroller {
	sender := strings.TrimSpace(os.Getenv("NOTIFICATION_SENDER"))
	return &principal.Enroller{
		Principals: d.Table, Enrollments: d.Table, Tokens: d.TokenService(), Now: time.Now,
		Mailer: notify.NewMailer(d.Clients.AWS, Endpoint("SES"), sender),
	}
}

// ServeDeps is the whole main of a function built from everything Load provides (the
// enrollment functions: they need the table, the pepper and SES).
func ServeDeps(build func(*Deps) http.Handler) {
	Logger()
	d, err := Load(context.Background())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	h := build(d)
	ColdStart()
	lambda.Start(lambdahttp.Handler(h))
}
