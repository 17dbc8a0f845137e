package boot

import (
	"context"
	"io"
	"log/slog"
	"time"

	"tokengate/shared/authorizer"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Authorizer builds the authorizer function's handler from getenv. Before bootstrap (no
// pepper in the table) it does not fail: see Pending.
func Authorizer(ctx context.Context, getenv func(string) string) (*Pending, error) {
	s, err := LoadSettings(getenv)
	if err != nil {
		return nil, err
	}
	c, err := NewClients(s)
	if err != nil {
		return nil, err
	}
	p, err := AuthorizerWith(ctx, s, c, time.Now)
	if err != nil {
		return nil, err
	}
	slog.Info("cold start", "function", "authorizer", "initMs", ms(time.Since(processStart)), "pepperLoadMs", ms(p.PepperLoad), "bootstrapped", p.Ready())
	return p, nil
}

// NewAuthorizer is the authorizer of s on tb with keys: what Pending serves once the
// pepper is found, and what the local gateway runs in process. log receives the decision
// lines (nil: where Logger sends the log).
func NewAuthorizer(s Settings, tb *store.Table, keys *token.Keyring, log io.Writer) (*authorizer.Authorizer, *authorizer.Usage, error) {
	cat, err := catalogAt(s.CatalogFile)
	if err != nil {
		return nil, nil, err
	}
	if log == nil && logOutput != nil {
		log = logOutput
	}
	routes := s.Routes
	if routes == nil {
		if routes, err = authorizer.NewRouteTable(nil); err != nil {
			return nil, nil, err
		}
	}
	usage := &authorizer.Usage{Store: tb, Every: s.UsageFlushInterval}
	a := authorizer.New(authorizer.Config{
		Tokens: tb, Keys: keys, Catalog: cat, Prefix: s.Prefix,
		Routes: routes, CacheTTL: s.AuthCacheTTL, Usage: usage, Rates: tb, Log: log,
		Feed: tb, Leases: tb, // revocations within 2 s, rate limits in leased slices
	})
	return a, usage, nil
}
