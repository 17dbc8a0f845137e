package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tokengate/infra/gateway"
	"tokengate/infra/samtemplate"
	"tokengate/shared/access"
	"tokengate/shared/api"
	"tokengate/shared/authorizer"
	"tokengate/shared/boot"
	"tokengate/shared/console"
	"tokengate/shared/notify"
	"tokengate/shared/principal"
	"tokengate/shared/token"
)

// operations maps the template's function logical ids to the handler each Lambda serves:
// the local gateway mounts the very same values.
var operations = map[string]func(*token.Service) http.Handler{
	"CreateTokenFunction":   api.CreateToken,
	"ListTokensFunction":    api.ListTokens,
	"SelfTokenFunction":     api.SelfToken,
	"GetTokenFunction":      api.GetToken,
	"UpdateTokenFunction":   api.UpdateToken,
	"RotateTokenFunction":   api.RotateToken,
	"DisableTokenFunction":  api.DisableToken,
	"EnableTokenFunction":   api.EnableToken,
	"RevokeTokenFunction":   api.RevokeToken,
	"DemoEchoFunction":      func(*token.Service) http.Handler { return api.DemoEcho() },
	"AlertsFunction":        api.Alerts,
	"TokenHistoryFunction":  api.TokenHistory,
	"AuditLogFunction":      api.AuditLog,
	"ListApprovalsFunction": api.ListApprovals,
	"ApproveTokenFunction":  api.ApproveToken,
	"RejectTokenFunction":   api.RejectToken,
	"EmergencyOnFunction":   api.EmergencyOn,
	"EmergencyOffFunction":  api.EmergencyOff,
}

// principalOperations and catalogOperations are the functions built on the principal
// service and on the scope catalog alone, as boot.ServePrincipals and boot.ServeCatalog
// build them.
var (
	principalOperations = map[string]func(*principal.Service) http.Handler{
		"ListPrincipalsFunction":  api.ListPrincipals,
		"GetPrincipalFunction":    api.GetPrincipal,
		"UpdatePrincipalFunction": api.UpdatePrincipal,
		"DeletePrincipalFunction": api.DeletePrincipal,
	}
	catalogOperations = map[string]func(*access.Catalog) http.Handler{
		"ListScopesFunction": api.Scopes,
		"ListRolesFunction":  api.Roles,
	}
)

// depsOperations are the functions built from everything boot.Load provides, as their
// mains build them with boot.ServeDeps.
var depsOperations = map[string]func(*boot.Deps) http.Handler{
	"CreatePrincipalFunction": func(d *boot.Deps) http.Handler {
		return api.CreatePrincipalAndEnroll(d.PrincipalService(), d.Enroller())
	},
	"SendEnrollmentFunction": func(d *boot.Deps) http.Handler { return api.SendEnrollment(d.Enroller()) },
	"EnrollFunction":         func(d *boot.Deps) http.Handler { return api.Enroll(d.Enroller(), d.Table) },
}

// handler builds the handler of a template function from deps, or reports that the
// local gateway has none.
func handler(function string, deps *boot.Deps) (http.Handler, bool) {
	if build, ok := depsOperations[function]; ok {
		return build(deps), true
	}
	if build, ok := operations[function]; ok {
		return build(deps.TokenService()), true
	}
	if build, ok := principalOperations[function]; ok {
		return build(deps.PrincipalService()), true
	}
	if build, ok := catalogOperations[function]; ok {
		return build(deps.Catalog), true
	}
	if function == "ConsoleFunction" {
		h, err := console.New()
		return h, err == nil
	}
	if function == "ReportLeakedFunction" {
		sender := os.Getenv("NOTIFICATION_SENDER") // notifierEnv gives it the local default
		return &api.LeakedRoute{
			Tokens: deps.TokenService(), Rates: deps.Table, Now: time.Now, AnswerAfter: api.LeakAnswerAfter,
			Notifier: &notify.LeakNotices{Mailer: notify.NewMailer(deps.Clients.AWS, boot.Endpoint("SES"), sender), Principals: deps.Table},
		}, true
	}
	return nil, false
}

// Server is the local gateway with everything it runs; tests build one too.
type Server struct {
	Handler http.Handler
	Usage   *authorizer.Usage
}

// NewServer builds the gateway for the template from deps.
func NewServer(tmpl *samtemplate.Template, deps *boot.Deps) (*Server, error) {
	auth, usage, err := deps.Authorizer(nil)
	if err != nil {
		return nil, err
	}
	handlers := map[string]http.Handler{}
	for _, r := range tmpl.Routes {
		if h, ok := handler(r.Function, deps); ok {
			handlers[r.Function] = h
		}
	}
	h, err := gateway.New(tmpl.Routes, handlers, func(r *http.Request) (access.Caller, bool) {
		d := auth.Check(r.Context(), authorizer.Request{
			Token:    authorizer.BearerToken(r.Header.Get("Authorization"), r.Header.Get("X-API-Key")),
			SourceIP: sourceIP(r),
			Route:    routeKey(r),
		})
		return d.Caller, d.Allow
	})
	if err != nil {
		return nil, err
	}
	return &Server{Handler: h, Usage: usage}, nil
}

// routeKey is the route as API Gateway names it in routeKey ("GET /orders/{id}",
// "ANY /files/{proxy+}"), from the ServeMux pattern that matched.
func routeKey(r *http.Request) string {
	method, path, ok := strings.Cut(r.Pattern, " ")
	if !ok {
		method, path = "ANY", r.Pattern
	}
	return method + " " + strings.ReplaceAll(path, "...}", "+}")
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localEnv prepares a command that runs functions locally: JSON logs, the environment
// setup wrote, and the template's defaults for the notifier's settings.
func localEnv(state, tmplPath string) (*samtemplate.Template, error) {
	boot.Logger()
	if err := loadEnv(filepath.Join(state, "env")); err != nil {
		return nil, err
	}
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return nil, err
	}
	notifierEnv(tmpl)
	return tmpl, nil
}

func serve(ctx context.Context, state, tmplPath, addr string) error {
	tmpl, err := localEnv(state, tmplPath)
	if err != nil {
		return err
	}
	deps, err := boot.Load(ctx)
	if err != nil {
		return err
	}
	s, err := NewServer(tmpl, deps)
	if err != nil {
		return err
	}
	if err := startSchedules(ctx, tmpl); err != nil {
		return err
	}
	// Usage counts are written off the response path: due ones every second (a first
	// use shows within a second), every one on shutdown.
	usageDone := make(chan struct{})
	usageCtx, stopUsage := context.WithCancel(context.WithoutCancel(ctx))
	go func() { s.Usage.Run(usageCtx, time.Second, time.Now); close(usageDone) }()
	defer func() { stopUsage(); <-usageDone }()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := gateway.Server(s.Handler, gateway.APIGatewayLimits)
	slog.Info("local gateway listening", "url", "http://"+ln.Addr().String(), "routes", len(tmpl.Routes))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown) // then the deferred stop: Run flushes every pending count
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
