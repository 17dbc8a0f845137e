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
	"slices"
	"strings"
	"time"

	"tokengate/infra/gateway"
	"tokengate/infra/localstack"
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
	Usage   *authorizer.Usage // in-process mode only
	Lambdas *lambdas          // Lambda mode only
}

// Close stops what the server started (the emulators in Lambda mode).
func (s *Server) Close() {
	if s.Lambdas != nil {
		s.Lambdas.Close()
	}
}

// authorizerFunction is the template's authorizer, which Lambda mode invokes.
const authorizerFunction = "AuthorizerFunction"

// NewLambdaServer builds the gateway for the template in Lambda mode: every function is
// its built bootstrap under the runtime interface emulator.
func NewLambdaServer(tmpl *samtemplate.Template, cfg LambdaConfig) (*Server, error) {
	if !slices.Contains(tmpl.Functions, authorizerFunction) {
		return nil, fmt.Errorf("the template has no %s", authorizerFunction)
	}
	if cfg.Stage == "" {
		cfg.Stage = tmpl.Parameters["StageName"]
	}
	l, err := startLambdas(tmpl, cfg)
	if err != nil {
		return nil, err
	}
	respond := gateway.Responder(tmpl.GatewayResponses)
	handlers := map[string]http.Handler{}
	for _, r := range tmpl.Routes {
		handlers[r.Function] = l.handler(r.Function, respond)
	}
	h, err := gateway.NewWithOptions(tmpl.Routes, handlers, l.authorize(authorizerFunction),
		gateway.Options{Responses: tmpl.GatewayResponses, IdentityHeaders: tmpl.IdentityHeaders, Throttles: tmpl.Throttles})
	if err != nil {
		l.Close()
		return nil, err
	}
	return &Server{Handler: h, Lambdas: l}, nil
}

// NewServer builds the gateway for the template from deps.
func NewServer(tmpl *samtemplate.Template, deps *boot.Deps) (*Server, error) {
	return NewServerWith(tmpl, func(string) *boot.Deps { return deps })
}

// NewServerWith builds the gateway with each function on its own deps (the tests give
// each a DynamoDB client that allows only what the function's role allows).
func NewServerWith(tmpl *samtemplate.Template, depsFor func(function string) *boot.Deps) (*Server, error) {
	auth, usage, err := depsFor(authorizerFunction).Authorizer(nil)
	if err != nil {
		return nil, err
	}
	handlers := map[string]http.Handler{}
	for _, r := range tmpl.Routes {
		if h, ok := handler(r.Function, depsFor(r.Function)); ok {
			handlers[r.Function] = h
		}
	}
	h, err := gateway.NewWithOptions(tmpl.Routes, handlers, func(r *http.Request) (access.Caller, gateway.Verdict) {
		d := auth.Check(r.Context(), authorizer.Request{
			Token:    authorizer.BearerToken(r.Header.Get("Authorization"), r.Header.Get("X-API-Key")),
			SourceIP: sourceIP(r),
			Route:    routeKey(r),
		})
		switch {
		case d.Allow:
			return d.Caller, gateway.Allow
		case d.Reason.Rejected():
			return access.Caller{}, gateway.Unauthorized
		}
		return access.Caller{}, gateway.Denied
	}, gateway.Options{Responses: tmpl.GatewayResponses, IdentityHeaders: tmpl.IdentityHeaders, Throttles: tmpl.Throttles})
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

func serve(ctx context.Context, state, tmplPath, addr string, lambdaMode bool) error {
	tmpl, err := localEnv(state, tmplPath)
	if err != nil {
		return err
	}
	deps, err := boot.Load(ctx)
	if err != nil {
		return err
	}
	var s *Server
	if lambdaMode {
		s, err = NewLambdaServer(tmpl, localLambdaConfig(state))
	} else {
		s, err = NewServer(tmpl, deps)
	}
	if err != nil {
		return err
	}
	defer s.Close()
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
	router, err := awsRouter(routerEndpoints())
	if err != nil {
		return err
	}
	// The AWS router is for sam local only: without its port the API still runs.
	if rln, err := net.Listen("tcp", awsRouterAddr(addr)); err != nil {
		slog.Warn("AWS router for sam local not started (TG_AWS_PORT)", "err", err)
	} else {
		rsrv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = rsrv.Serve(rln) }()
		defer rsrv.Close()
		slog.Info("AWS router for sam local listening", "url", "http://"+rln.Addr().String())
	}
	srv := gateway.Server(s.Handler, gateway.APIGatewayLimits)
	slog.Info("local gateway listening", "url", "http://"+ln.Addr().String(), "routes", len(tmpl.Routes), "lambda", lambdaMode)
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

// localLambdaConfig is Lambda mode on the `make run` stack: the binaries of make
// build-local (TG_LAMBDA_DIR), the emulator make installs (TG_RIE), the settings setup wrote to <state>/env, and
// TG_LAMBDA_PORT as the first of the emulators' ports (free ports when unset).
func localLambdaConfig(state string) LambdaConfig {
	base, _ := localstack.LambdaPort.In(localstack.Run, os.Getenv)
	override, _ := readEnv(filepath.Join(state, "env"))
	return LambdaConfig{
		RIE: envOr("TG_RIE", filepath.Join(".local", "tools", "bin", "aws-lambda-rie")), Dir: envOr("TG_LAMBDA_DIR", filepath.Join(".local", "lambda")),
		PortBase: base, Env: os.Environ(), Override: override, LogDir: filepath.Join(state, "logs", "lambda"),
	}
}
