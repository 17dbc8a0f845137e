package boot

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Logger installs the JSON logger every function writes with.
func Logger() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	logOutput = os.Stdout
}

// logOutput is where Logger sends the JSON log (nil before it runs): the authorizer
// writes its decision lines there directly.
var logOutput io.Writer

// Deps is what the token functions are built from.
type Deps struct {
	Settings Settings
	Clients  Clients
	Table    *store.Table
	Keys     *token.Keyring
	Catalog  *access.Catalog
	// DecisionLog is where the authorizer writes its decision lines; nil: where Logger
	// sends the log, or through slog.Default() before Logger runs.
	DecisionLog io.Writer
	// PepperLoad is how long loading the pepper took (a DynamoDB Query and one KMS
	// Decrypt per version): cold-start reports keep it apart from the rest.
	PepperLoad time.Duration
}

// Load reads the settings, makes the clients and decrypts the pepper: everything a
// function needs, once per cold start.
func Load(ctx context.Context) (*Deps, error) {
	s, err := LoadSettings(nil)
	if err != nil {
		return nil, err
	}
	return LoadWith(ctx, s)
}

// LoadWith is Load with settings already read.
func LoadWith(ctx context.Context, s Settings) (*Deps, error) {
	c, err := NewClients(ctx)
	if err != nil {
		return nil, err
	}
	return LoadWithClients(ctx, s, c)
}

// LoadWithClients is LoadWith with clients already made.
func LoadWithClients(ctx context.Context, s Settings, c Clients) (*Deps, error) {
	tb := &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
	start := time.Now()
	keys, err := pepper.Load(ctx, c.KMS, s.KMSKeyID, tb)
	if err != nil {
		return nil, err
	}
	pepperLoad := time.Since(start)
	cat, err := catalogAt(s.CatalogFile)
	if err != nil {
		return nil, err
	}
	return &Deps{Settings: s, Clients: c, Table: tb, Keys: keys, Catalog: cat, PepperLoad: pepperLoad}, nil
}

// TokenService is the service the management functions run.
func (d *Deps) TokenService() *token.Service {
	return &token.Service{
		Store: d.Table, Principals: d.Table, Keys: d.Keys, Catalog: d.Catalog, Policy: d.Settings.Policy,
		Prefix: d.Settings.Prefix, Now: time.Now,
	}
}

// TokenService loads everything and returns the token service: the one call of a
// management function's main.
func TokenService(ctx context.Context) (*token.Service, error) {
	d, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	return d.TokenService(), nil
}
