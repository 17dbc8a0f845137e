// Package boot assembles each function from its environment, once per cold start: the
// settings (LoadSettings is the one reader of every variable; a bad setting fails the
// start with a message naming it), the AWS clients with their time budget, and the parts
// one operation is made from. A function's main names its operation and what it is made
// of — boot.Serve(boot.Issuing, api.CreateToken) — and the types hold the two together:
// an operation cannot be started without the parts it uses. Nothing here decides
// anything a request asks.
package boot

import (
	"context"
	"net/http"
	"os"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/email"
	"tokengate/shared/lambdahttp"
	"tokengate/shared/lambdaruntime"
	"tokengate/shared/logging"
	"tokengate/shared/pepper"
	"tokengate/shared/principal"
	"tokengate/shared/settings"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// Parts are what an operation of type func(D) http.Handler is made from, on the
// DynamoDB table: a name (as a main spells it, for the architecture test), what loading
// them takes beyond the table (the pepper, from KMS; SES), and how they are taken from
// every operation's parts at once (the local gateway's).
type Parts[D any] struct {
	name   string
	pepper bool // the pepper, decrypted with KMS
	mail   bool // SES and NOTIFICATION_SENDER
	from   func(api.Services) D
}

// Name is how a main spells p: boot.<Name>.
func (p Parts[D]) Name() string { return p.name }

// From takes p out of every operation's parts.
func (p Parts[D]) From(all api.Services) D { return p.from(all) }

// The parts of each kind of operation. Each is exactly what its role in template.yaml
// allows: a function that never hashes a new secret has no pepper (and no kms:Decrypt).
var (
	// Tokens: the token service on the table, without the pepper: reading tokens and
	// changing them without a new secret.
	Tokens = Parts[*token.Service]{name: "Tokens", from: func(s api.Services) *token.Service { return s.Tokens }}
	// Issuing: the token service with the pepper (create, rotate).
	Issuing = Parts[api.Issuing]{name: "Issuing", pepper: true, from: func(s api.Services) api.Issuing { return api.Issuing{Tokens: s.Tokens} }}
	// Principals: the principal service on the table.
	Principals = Parts[*principal.Service]{name: "Principals", from: func(s api.Services) *principal.Service { return s.Principals }}
	// Enrolling: principals and an enroller that mails (create a principal, send an
	// enrollment).
	Enrolling = Parts[api.Enrolling]{name: "Enrolling", pepper: true, mail: true, from: func(s api.Services) api.Enrolling {
		return api.Enrolling{Principals: s.Principals, Enroller: s.Enroller}
	}}
	// Exchange: an enroller with the pepper that mails nothing, and the rate counter
	// (POST /enroll).
	Exchange = Parts[api.Exchange]{name: "Exchange", pepper: true, from: func(s api.Services) api.Exchange {
		return api.Exchange{Enroller: s.Enroller, Rates: s.Rates}
	}}
	// LeakReporting: the token service with the pepper, the owners' notices and the rate
	// counter (POST /leaked-tokens).
	LeakReporting = Parts[api.LeakReporting]{name: "LeakReporting", pepper: true, mail: true, from: func(s api.Services) api.LeakReporting {
		return api.LeakReporting{Tokens: s.Tokens, Notices: s.LeakNotices, Rates: s.Rates}
	}}
	// SystemSettings: the run-time settings (GET and PATCH /settings).
	SystemSettings = Parts[*settings.Service]{name: "SystemSettings", from: func(s api.Services) *settings.Service { return s.Settings }}
	// Everything: every operation's parts, as the local gateway and the tests run them.
	Everything = Parts[api.Services]{name: "Everything", pepper: true, mail: true, from: func(s api.Services) api.Services { return s }}
)

// Serve is a function's main: the JSON log, its parts loaded from the environment (a
// failure ends the cold start with a log line that says why), the cold-start line, and
// the operation served as a Lambda handler of API Gateway's events.
func Serve[D any](parts Parts[D], operation func(D) http.Handler) {
	logging.Setup()
	d, err := Load(context.Background(), os.Getenv, parts)
	if err != nil {
		logging.Fatal(err)
	}
	logging.ColdStart()
	logging.Fatal(lambdaruntime.Start(lambdahttp.Handler(operation(d))))
}

// Load reads the settings from getenv and loads parts.
func Load[D any](ctx context.Context, getenv func(string) string, parts Parts[D]) (D, error) {
	s, err := LoadSettings(getenv)
	if err != nil {
		var zero D
		return zero, err
	}
	return LoadWith(ctx, s, parts)
}

// LoadWith is Load with the settings read.
func LoadWith[D any](ctx context.Context, s Settings, parts Parts[D]) (D, error) {
	var zero D
	cat, err := access.CatalogAt(s.CatalogFile)
	if err != nil {
		return zero, err
	}
	if parts.mail {
		if _, err := s.sender(); err != nil {
			return zero, err
		}
	}
	c, err := NewClients(s)
	if err != nil {
		return zero, err
	}
	tb := NewTable(s, c)
	var keys *token.Keyring
	if parts.pepper {
		if keys, err = pepper.Load(ctx, c.KMS, s.KMSKeyID, tb); err != nil {
			return zero, err
		}
	}
	var mail *Clients
	if parts.mail {
		mail = &c
	}
	return parts.from(Assemble(s, tb, keys, cat, mail)), nil
}

// Assemble makes the services of s on tb with keys (nil: without the pepper) and cat;
// with mail (the clients whose configuration and SES endpoint to use) also the mail
// senders, from s.Sender. LoadWith uses it, and so do the tests that give each function
// its own table client.
func Assemble(s Settings, tb *store.Table, keys *token.Keyring, cat *access.Catalog, mail *Clients) api.Services {
	runtime := RuntimeSettings(s, tb)
	out := api.Services{
		Catalog: cat, Rates: tb,
		Tokens: &token.Service{
			Store: tb, Principals: tb, Keys: keys, Catalog: cat, Policy: s.Policy,
			Prefix: s.Prefix, Now: time.Now,
			// A calling token read once serves its later issuances at the same version.
			CallingTokens: token.NewCallingTokens(1000, 5*time.Minute),
			Settings:      runtime,
		},
		Principals: &principal.Service{Store: tb, Catalog: cat, Now: time.Now},
		Settings:   &settings.Service{Source: runtime, Principals: tb, Now: time.Now},
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

// RuntimeSettings is the run-time settings on tb, read at most once a minute, with the
// deployment's as their defaults.
func RuntimeSettings(s Settings, tb *store.Table) *settings.Source {
	return &settings.Source{Store: tb, Now: time.Now, Defaults: settings.Values{
		DetectionWindow: s.Policy.DetectionWindow, Backoff: s.Backoff, Recipients: s.Recipients,
		TemporaryTTL: s.Policy.TemporaryTTL, MaxTemporaryLifetime: s.Policy.MaxTemporaryLifetime,
	}}
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
