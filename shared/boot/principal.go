package boot

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"tokengate/shared/access"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/principal"
	"tokengate/shared/store"
)

// Catalog reads the scope catalog named by CATALOG_FILE from getenv (os.Getenv when
// nil); without it, the built-in scopes only. It is a file in the function's code, so
// reading it needs no AWS client.
func Catalog(getenv func(string) string) (*access.Catalog, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return catalogAt(catalogFile(getenv("CATALOG_FILE")))
}

// catalogAt loads the catalog file at path, or the built-in scopes alone when path is
// empty. A bad file is an error that names it: the cold start fails.
func catalogAt(path string) (*access.Catalog, error) {
	if path == "" {
		return access.NewCatalog()
	}
	return access.LoadCatalog(path)
}

// PrincipalService is the service of d's table and catalog.
func (d *Deps) PrincipalService() *principal.Service {
	return &principal.Service{Store: d.Table, Catalog: d.Catalog, Now: time.Now}
}

// PrincipalService reads the settings and the catalog and makes the DynamoDB client. It
// never loads the pepper: principals need no token hashing, so their functions' roles
// have no KMS access.
func PrincipalService(ctx context.Context) (*principal.Service, error) {
	s, err := LoadSettings(nil)
	if err != nil {
		return nil, err
	}
	c, err := NewClients(ctx)
	if err != nil {
		return nil, err
	}
	cat, err := Catalog(nil)
	if err != nil {
		return nil, err
	}
	tb := &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
	return &principal.Service{Store: tb, Catalog: cat, Now: time.Now}, nil
}

// ServePrincipals is the whole main of a principal function, as ServeToken is of a token
// function.
func ServePrincipals(build func(*principal.Service) http.Handler) {
	Logger()
	svc, err := PrincipalService(context.Background())
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	ColdStart()
	lambda.Start(lambdahttp.Handler(build(svc)))
}

// ServeCatalog is the whole main of GET /scopes and GET /roles: the catalog file and
// nothing else, no table, no pepper.
func ServeCatalog(build func(*access.Catalog) http.Handler) {
	Logger()
	cat, err := Catalog(nil)
	if err != nil {
		slog.Error("cold start failed", "err", err)
		os.Exit(1)
	}
	ColdStart()
	lambda.Start(lambdahttp.Handler(build(cat)))
}
