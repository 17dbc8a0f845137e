package boot

import (
	"context"
	"io"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/logging"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Authorizer builds the authorizer function from getenv. Before bootstrap (no pepper in
// the table) it does not fail: see authorizer.NewFunction.
func Authorizer(ctx context.Context, getenv func(string) string) (*authorizer.Function, error) {
	s, err := LoadSettings(getenv)
	if err != nil {
		return nil, err
	}
	c, err := NewClients(s)
	if err != nil {
		return nil, err
	}
	f, err := AuthorizerWith(ctx, s, c, time.Now)
	if err != nil {
		return nil, err
	}
	logging.ColdStart("pepperLoadMs", logging.Ms(f.PepperLoad), "bootstrapped", f.Ready())
	return f, nil
}

// AuthorizerWith is Authorizer with the settings read, the clients made and a clock.
func AuthorizerWith(ctx context.Context, s Settings, c Clients, now func() time.Time) (*authorizer.Function, error) {
	return authorizer.NewFunction(ctx, authorizer.FunctionConfig{
		Load: func(ctx context.Context) (*authorizer.Authorizer, *authorizer.Usage, error) {
			tb := NewTable(s, c)
			keys, err := pepper.Load(ctx, c.KMS, s.KMSKeyID, tb)
			if err != nil {
				return nil, nil, err
			}
			return NewAuthorizer(s, tb, keys, nil)
		},
		Response: s.Response, Table: s.TableName, Now: now,
	})
}

// NewAuthorizer is the authorizer of s on tb with keys: what the function serves once the
// pepper is found, and what the local gateway runs in process. log receives the decision
// lines (nil: where logging.Setup sends the log).
func NewAuthorizer(s Settings, tb *store.Table, keys *token.Keyring, log io.Writer) (*authorizer.Authorizer, *authorizer.Usage, error) {
	cat, err := access.CatalogAt(s.CatalogFile)
	if err != nil {
		return nil, nil, err
	}
	if log == nil {
		log = logging.Output()
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
		// A rotated-away secret presented: recorded, alerted, and revoked if so set.
		Reuse: &token.Service{Store: tb, Principals: tb, Keys: keys, Catalog: cat, Policy: s.Policy, Prefix: s.Prefix, Now: time.Now},
	})
	return a, usage, nil
}
