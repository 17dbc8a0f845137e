package api

import (
	"tokengate/shared/access"
	"tokengate/shared/principal"
	"tokengate/shared/restriction"
	"tokengate/shared/settings"
	"tokengate/shared/token"
)

// Issuing is what the operations that hand out a new secret (create, rotate) are made
// from: the token service with the pepper loaded, so its Keys are set.
type Issuing struct{ Tokens *token.Service }

// Enrolling is what creating a principal and sending an enrollment are made from: the
// principal service and an enroller that mails (SES) with the pepper loaded.
type Enrolling struct {
	Principals *principal.Service
	Enroller   *principal.Enroller
}

// Exchange is what exchanging an enrollment secret for a token is made from: an enroller
// with the pepper (it mails nothing) and the rate counter that slows guessing.
type Exchange struct {
	Enroller *principal.Enroller
	Rates    restriction.RateCounter
}

// LeakReporting is what the leaked-token report is made from: the token service with the
// pepper (to verify what was found), the owners' notices (SES) and the rate counter.
type LeakReporting struct {
	Tokens  *token.Service
	Notices LeakNotifier
	Rates   restriction.RateCounter
}

// Services are every operation's parts at once: what the local gateway and the tests
// run every operation from (boot.Everything); a function's main loads only its own.
type Services struct {
	Tokens      *token.Service // with the pepper: its Keys are set
	Principals  *principal.Service
	Catalog     *access.Catalog
	Rates       restriction.RateCounter
	Enroller    *principal.Enroller // mails through SES
	LeakNotices LeakNotifier
	Settings    *settings.Service // the run-time settings (GET and PATCH /settings)
}
