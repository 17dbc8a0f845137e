package boot

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/email"
	"tokengate/shared/pepper"
	"tokengate/shared/principal"
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

// ColdStart logs how long this cold start took, from process start until the function
// is ready for its first event: one line per instance, for dashboards and for the local
// gateway's report of init times under the Lambda emulator.
func ColdStart() {
	slog.Info("cold start", "function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "initMs", ms(time.Since(processStart)))
}

// processStart is taken when the package initialises, as close to process start as Go
// code gets.
var processStart = time.Now()

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Needs says what a function loads beyond its settings and the scope catalog. Each is
// something its role must allow, so a function asks only for what its operation uses.
type Needs uint8

const (
	// Table: the DynamoDB table, and the token and principal services on it (without
	// the pepper: reading tokens and changing them without a new secret).
	Table Needs = 1 << iota
	// Pepper: the pepper, decrypted with KMS, to hash new secrets (implies Table).
	Pepper
	// Mail: SES, for the enrollment mail and leak notices (needs NOTIFICATION_SENDER).
	// Without it, Services has no LeakNotices and its Enroller cannot send.
	Mail
)

// Load reads the settings from getenv and builds what needs asks for: the services a
// function's operation is made from; each main names what its operation uses.
func Load(ctx context.Context, getenv func(string) string, needs Needs) (api.Services, error) {
	s, err := LoadSettings(getenv)
	if err != nil {
		return api.Services{}, err
	}
	return LoadWith(ctx, s, needs)
}

// LoadWith is Load with the settings read.
func LoadWith(ctx context.Context, s Settings, needs Needs) (api.Services, error) {
	cat, err := catalogAt(s.CatalogFile)
	if err != nil {
		return api.Services{}, err
	}
	out := api.Services{Catalog: cat}
	if needs == 0 {
		return out, nil
	}
	c, err := NewClients(s)
	if err != nil {
		return api.Services{}, err
	}
	tb := NewTable(s, c)
	var keys *token.Keyring
	if needs&Pepper != 0 {
		if keys, err = pepper.Load(ctx, c.KMS, s.KMSKeyID, tb); err != nil {
			return api.Services{}, err
		}
	}
	var mail *Clients
	if needs&Mail != 0 {
		if _, err := s.sender(); err != nil {
			return api.Services{}, err
		}
		mail = &c
	}
	return Assemble(s, tb, keys, cat, mail), nil
}

// Assemble makes the services of s on tb with keys (nil: without the pepper) and cat;
// with mail (the clients whose configuration and SES endpoint to use) also the mail
// senders, from s.Sender. LoadWith uses it, and so do the tests that give each function
// its own table client.
func Assemble(s Settings, tb *store.Table, keys *token.Keyring, cat *access.Catalog, mail *Clients) api.Services {
	out := api.Services{
		Catalog: cat, Rates: tb,
		Tokens: &token.Service{
			Store: tb, Principals: tb, Keys: keys, Catalog: cat, Policy: s.Policy,
			Prefix: s.Prefix, Now: time.Now,
			// A calling token read once serves its later issuances at the same version.
			CallingTokens: token.NewCallingTokens(1000, 5*time.Minute),
		},
		Principals: &principal.Service{Store: tb, Catalog: cat, Now: time.Now},
	}
	if keys != nil {
		// Exchanging an enrollment secret needs the pepper; mailing one needs SES too.
		out.Enroller = &principal.Enroller{Principals: tb, Enrollments: tb, Tokens: out.Tokens, Now: time.Now}
	}
	if mail != nil {
		mailer := newMailer(s, *mail)
		out.LeakNotices = &email.LeakNotices{Mailer: mailer, Principals: tb}
		if out.Enroller != nil {
			out.Enroller.Mailer = mailer
		}
	}
	return out
}

// newMailer is the SES mailer of s on c's configuration: notices from NOTIFICATION_SENDER,
// linking to CONSOLE_URL.
func newMailer(s Settings, c Clients) *email.Mailer {
	m := email.NewMailer(c.AWS, c.Endpoints.Endpoint("SES"), s.Sender)
	m.ConsoleURL, m.ConfigurationSet = s.ConsoleURL, s.ConfigurationSet
	return m
}

// NewTable is the DynamoDB table of s on c.
func NewTable(s Settings, c Clients) *store.Table {
	return &store.Table{Client: c.DynamoDB, Name: s.TableName, Retention: s.Policy.Retention}
}

// Catalog reads the scope catalog named by CATALOG_FILE from getenv (os.Getenv when
// nil); without it, the built-in scopes only. A bad file is an error that names it.
func Catalog(getenv func(string) string) (*access.Catalog, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return catalogAt(catalogFile(getenv("CATALOG_FILE"), getenv("LAMBDA_TASK_ROOT")))
}

func catalogAt(path string) (*access.Catalog, error) {
	if path == "" {
		return access.NewCatalog()
	}
	return access.LoadCatalog(path)
}
