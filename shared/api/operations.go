package api

import (
	"fmt"
	"net/http"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/console"
	"tokengate/shared/principal"
	"tokengate/shared/token"
)

// Services are what the operations are made from. A function's main loads only what
// its operation uses (boot.Load); the local gateway and the tests load everything.
type Services struct {
	Tokens     *token.Service // its Keys are nil unless the pepper was loaded
	Principals *principal.Service
	Catalog    *access.Catalog
	Rates      token.RateCounter
	// Enroller is nil unless the pepper was loaded, and sends no mail unless mail was
	// loaded too; LeakNotices (SES) is nil unless mail was loaded.
	Enroller    *principal.Enroller
	LeakNotices LeakNotifier
}

// Operations maps each HTTP function's logical id in template.yaml to its operation: the
// local gateway mounts these, a test checks them against every function and route of the
// template, and each function's main builds the same handler from what boot.Load gives.
var Operations = map[string]func(Services) http.Handler{
	"CreateTokenFunction":   func(s Services) http.Handler { return CreateToken(s.Tokens) },
	"RotateTokenFunction":   func(s Services) http.Handler { return RotateToken(s.Tokens) },
	"ListTokensFunction":    func(s Services) http.Handler { return ListTokens(s.Tokens) },
	"SelfTokenFunction":     func(s Services) http.Handler { return SelfToken(s.Tokens) },
	"GetTokenFunction":      func(s Services) http.Handler { return GetToken(s.Tokens) },
	"UpdateTokenFunction":   func(s Services) http.Handler { return UpdateToken(s.Tokens) },
	"DisableTokenFunction":  func(s Services) http.Handler { return DisableToken(s.Tokens) },
	"EnableTokenFunction":   func(s Services) http.Handler { return EnableToken(s.Tokens) },
	"RevokeTokenFunction":   func(s Services) http.Handler { return RevokeToken(s.Tokens) },
	"AlertsFunction":        func(s Services) http.Handler { return Alerts(s.Tokens) },
	"TokenHistoryFunction":  func(s Services) http.Handler { return TokenHistory(s.Tokens) },
	"AuditLogFunction":      func(s Services) http.Handler { return AuditLog(s.Tokens) },
	"ListApprovalsFunction": func(s Services) http.Handler { return ListApprovals(s.Tokens) },
	"ApproveTokenFunction":  func(s Services) http.Handler { return ApproveToken(s.Tokens) },
	"RejectTokenFunction":   func(s Services) http.Handler { return RejectToken(s.Tokens) },
	"EmergencyOnFunction":   func(s Services) http.Handler { return EmergencyOn(s.Tokens) },
	"EmergencyOffFunction":  func(s Services) http.Handler { return EmergencyOff(s.Tokens) },

	"ListPrincipalsFunction":  func(s Services) http.Handler { return ListPrincipals(s.Principals) },
	"GetPrincipalFunction":    func(s Services) http.Handler { return GetPrincipal(s.Principals) },
	"UpdatePrincipalFunction": func(s Services) http.Handler { return UpdatePrincipal(s.Principals) },
	"DeletePrincipalFunction": func(s Services) http.Handler { return DeletePrincipal(s.Principals) },
	"CreatePrincipalFunction": func(s Services) http.Handler {
		return CreatePrincipalAndEnroll(s.Principals, s.Enroller)
	},
	"SendEnrollmentFunction": func(s Services) http.Handler { return SendEnrollment(s.Enroller) },
	"EnrollFunction":         func(s Services) http.Handler { return Enroll(s.Enroller, s.Rates) },
	"ReportLeakedFunction":   func(s Services) http.Handler { return ReportLeaked(s.Tokens, s.LeakNotices, s.Rates) },

	"ListScopesFunction": func(s Services) http.Handler { return Scopes(s.Catalog) },
	"ListRolesFunction":  func(s Services) http.Handler { return Roles(s.Catalog) },
	"DemoEchoFunction":   func(Services) http.Handler { return DemoEcho() },
	"ConsoleFunction":    func(Services) http.Handler { return Console() },
}

// ReportLeaked serves POST /leaked-tokens (LeakedRoute), answering no sooner than
// LeakAnswerAfter.
func ReportLeaked(tokens *token.Service, notices LeakNotifier, rates token.RateCounter) http.Handler {
	return &LeakedRoute{Tokens: tokens, Notifier: notices, Rates: rates, Now: time.Now, AnswerAfter: LeakAnswerAfter}
}

// Console serves the web console (shared/console). Its files are embedded in the binary,
// so building it fails only with a broken build; then it answers 500 and logs why.
func Console() http.Handler {
	h, err := console.New()
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeError(w, r, fmt.Errorf("console: %w", err)) })
	}
	return h
}
