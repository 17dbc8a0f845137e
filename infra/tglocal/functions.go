package main

import (
	"net/http"
	"reflect"
	"runtime"

	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/boot"
	"tokengate/shared/console"
)

// functions declares every HTTP function of template.yaml once, by its logical id: the
// parts its main loads and the operation it serves. The local gateway mounts each one
// from these; TestFunctionsMatchTheTemplate holds them equal to the template's functions
// and routes both ways, and TestMainsServeTheirDeclaration holds each functions/<name>/
// main.go to its line here. The calls each role allows are the template's own (its
// policies), held exact by TestRolesAreExact.
var functions = map[string]function{
	"CreateTokenFunction":   serves(boot.Issuing, api.CreateToken),
	"RotateTokenFunction":   serves(boot.Issuing, api.RotateToken),
	"ListTokensFunction":    serves(boot.Tokens, api.ListTokens),
	"SelfTokenFunction":     serves(boot.Tokens, api.SelfToken),
	"GetTokenFunction":      serves(boot.Tokens, api.GetToken),
	"UpdateTokenFunction":   serves(boot.Tokens, api.UpdateToken),
	"DisableTokenFunction":  serves(boot.Tokens, api.DisableToken),
	"EnableTokenFunction":   serves(boot.Tokens, api.EnableToken),
	"RevokeTokenFunction":   serves(boot.Tokens, api.RevokeToken),
	"AlertsFunction":        serves(boot.Tokens, api.Alerts),
	"TokenHistoryFunction":  serves(boot.Tokens, api.TokenHistory),
	"AuditLogFunction":      serves(boot.Tokens, api.AuditLog),
	"ListApprovalsFunction": serves(boot.Tokens, api.ListApprovals),
	"ApproveTokenFunction":  serves(boot.Tokens, api.ApproveToken),
	"RejectTokenFunction":   serves(boot.Tokens, api.RejectToken),
	"EmergencyOnFunction":   serves(boot.Tokens, api.EmergencyOn),
	"EmergencyOffFunction":  serves(boot.Tokens, api.EmergencyOff),

	"ListPrincipalsFunction":  serves(boot.Principals, api.ListPrincipals),
	"GetPrincipalFunction":    serves(boot.Principals, api.GetPrincipal),
	"UpdatePrincipalFunction": serves(boot.Principals, api.UpdatePrincipal),
	"DeletePrincipalFunction": serves(boot.Principals, api.DeletePrincipal),
	"CreatePrincipalFunction": serves(boot.Enrolling, api.CreatePrincipalAndEnroll),
	"SendEnrollmentFunction":  serves(boot.Enrolling, api.SendEnrollment),
	"EnrollFunction":          serves(boot.Exchange, api.Enroll),
	"ReportLeakedFunction":    serves(boot.LeakReporting, api.ReportLeaked),

	"GetSettingsFunction":    serves(boot.SystemSettings, api.GetSettings),
	"UpdateSettingsFunction": serves(boot.SystemSettings, api.UpdateSettings),

	// No boot, so no AWS client linked: the catalog only, or nothing at all.
	"ListScopesFunction": onCatalog(api.Scopes),
	"ListRolesFunction":  onCatalog(api.Roles),
	"DemoEchoFunction":   standalone(api.DemoEcho),
	"ConsoleFunction":    standalone(console.Site),
}

// function is one HTTP function: Parts is what its main passes boot.Serve ("" for a main
// that loads nothing), Operation the operation's full name
// ("tokengate/shared/api.CreateToken"), and build makes its handler from every
// operation's parts at once, as the local gateway runs it.
type function struct {
	Parts, Operation string
	build            func(api.Services) http.Handler
}

// serves is the function whose main is boot.Serve(parts, operation).
func serves[D any](parts boot.Parts[D], operation func(D) http.Handler) function {
	return function{Parts: parts.Name(), Operation: funcName(operation),
		build: func(all api.Services) http.Handler { return operation(parts.From(all)) }}
}

// onCatalog is a function made from the scope catalog only (access.CatalogFromEnv).
func onCatalog(operation func(*access.Catalog) http.Handler) function {
	return function{Operation: funcName(operation), build: func(all api.Services) http.Handler { return operation(all.Catalog) }}
}

// standalone is a function that needs nothing loaded.
func standalone(operation func() http.Handler) function {
	return function{Operation: funcName(operation), build: func(api.Services) http.Handler { return operation() }}
}

func funcName(f any) string { return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name() }
