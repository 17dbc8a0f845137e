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
	table, err := authorizer.NewRouteTable(routes)
	if err != nil {
		return nil, nil, fmt.Errorf("settings: %w", err)
	}
	usage := &authorizer.Usage{Store: d.Table, Every: d.Settings.UsageFlushInterval}
	log := d.DecisionLog
	if log == nil {
		log = logOutput
	}
	a := authorizer.New(authorizer.Config{
		Tokens: d.Table, Keys: d.Keys, Catalog: d.Catalog, Prefix: d.Settings.Prefix,
		Routes: table, CacheTTL: d.Settings.AuthCacheTTL, Usage: usage, Rates: d.Table, Log: log,
	})
	return a, usage, nil
}

// ServeAuthorizer is the whole main of the authorizer function. Usage counts that are
// due are written after each answer by an internal extension (afterEachInvoke), so no
// write delays a decision; pending ones are written on SHUTDOWN and when Lambda sends
// SIGTERM, so no use is lost when an instance ends. Before bootstrap it serves too,
// refusing every token (AuthorizerHandler).
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
				answered, xerr := afterEachInvoke(func(ctx context.Context) { p.FlushDue(ctx, time.Now()) }, p.Flush)
				if xerr != nil {
					// Without the extension, due counts are written in the background after
					// each answer; if Lambda freezes the instance first, the write finishes
					// when it next runs (and a failed one is kept for the next flush).
					slog.Warn("usage extension not registered: flushing at the next invocation", "err", xerr)
					answered = func() { go p.FlushDue(ctx, time.Now()) }
				}
				handler := func(ctx context.Context, raw json.RawMessage) (any, error) {
					out, err := p.Handle(ctx, raw)
					answered()
					return out, err
				}
				lambda.StartWithOptions(handler, lambda.WithEnableSIGTERM(func() { p.Flush(ctx) }))
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
