package boot

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/lambdahttp"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// LoadWithoutPepper is Load for a function that never hashes a secret (it reads tokens,
// or changes them without a new secret): no KMS call, so its role needs no KMS access.
// Its token service has no keyring; an operation that needs one is not its operation.
func LoadWithoutPepper(ctx context.Context) (*Deps, error) {
	s, err := LoadSettings(nil)
	if err != nil {
		return nil, err
	}
	c, err := NewClients(ctx)
	if err != nil {
		return nil, err
	}
	cat, err := catalogAt(s.CatalogFile)
	if err != nil {
		return nil, err
	}
	tb := &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
	return &Deps{Settings: s, Clients: c, Table: tb, Catalog: cat}, nil
}

// ServeTokenWithoutPepper is ServeToken for an operation that never hashes a secret.
func ServeTokenWithoutPepper(build func(*token.Service) http.Handler) {
	Logger()
	d, err := LoadWithoutPepper(context.Background())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	ColdStart()
	lambda.Start(lambdahttp.Handler(build(d.TokenService())))
}
