package boot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/authorizer"
)

// Authorizer builds the authorizer of d's settings; ROUTE_SCOPES is read from getenv
// (os.Getenv when nil).
func (d *Deps) Authorizer(getenv func(string) string) (*authorizer.Authorizer, *authorizer.Usage, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	routes := map[string][]string{}
	if s := getenv("ROUTE_SCOPES"); s != "" {
		if err := json.Unmarshal([]byte(s), &routes); err != nil {
			return nil, nil, fmt.Errorf(`settings: ROUTE_SCOPES must be a JSON object such as {"GET /orders": ["orders:read"]}: %w`, err)
		}
	}
	usage := &authorizer.Usage{Store: d.Table, Every: d.Settings.UsageFlushInterval}
	a := authorizer.New(authorizer.Config{
		Tokens: d.Table, Keys: d.Keys, Catalog: d.Catalog, Prefix: d.Settings.Prefix, Now: time.Now,
		RouteScopes: routes, CacheTTL: d.Settings.AuthCacheTTL, Usage: usage, Rates: d.Table,
	})
	return a, usage, nil
}

// ServeAuthorizer is the whole main of the authorizer function. Pending usage counts
// are written when Lambda sends SIGTERM, so no use is lost when an instance ends. Before
// bootstrap it serves too, refusing every token (AuthorizerHandler).
func ServeAuthorizer() {
	Logger()
	ctx := context.Background()
	s, err := LoadSettings(nil)
	if err == nil {
		resp := authorizer.Response(getenvDefault("AUTHORIZER_RESPONSE", string(authorizer.ResponseSimple)))
		if resp == authorizer.ResponseSimple || resp == authorizer.ResponseIAM {
			var p *Pending
			if p, err = AuthorizerHandler(ctx, s, resp, nil); err == nil {
				slog.Info("cold start", "function", "authorizer", "initMs", ms(time.Since(processStart)), "pepperLoadMs", ms(p.PepperLoad), "bootstrapped", p.Ready())
				lambda.StartWithOptions(p.Handle, lambda.WithEnableSIGTERM(func() { p.Flush(ctx) }))
				return
			}
		} else {
			err = fmt.Errorf("settings: AUTHORIZER_RESPONSE=%q must be simple or iam", resp)
		}
	}
	slog.Error("cold start failed", "err", err)
	os.Exit(1)
}

// processStart is taken when the package initialises, as close to process start as Go
// code gets.
var processStart = time.Now()

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func getenvDefault(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
