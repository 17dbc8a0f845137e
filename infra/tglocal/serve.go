package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	"tokengate/shared/logging"
)

// InProcessServer is the local gateway with every function and the authorizer in this
// process; tests build one too.
type InProcessServer struct {
	Handler http.Handler
	// Usage is the authorizer's usage recorder: its counts are written by RunUsage.
	Usage *authorizer.Usage
}

// RunUsage writes usage counts off the response path until stop is called: due ones
// every second (a first use shows within a second), every pending one when it stops.
func (s *InProcessServer) RunUsage(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() { s.Usage.Run(ctx, time.Second, time.Now); close(done) }()
	return func() { cancel(); <-done }
}

// LambdaServer is the local gateway with every function its built bootstrap under the
// runtime interface emulator, as on AWS: the authorizer's bootstrap counts and writes
// usage itself.
type LambdaServer struct {
	Handler http.Handler
	lambdas *lambdas
}

// Close stops the emulators.
func (s *LambdaServer) Close() { s.lambdas.Close() }

// authorizerFunction is the template's authorizer, which Lambda mode invokes.
const authorizerFunction = "AuthorizerFunction"

// NewLambdaServer builds the gateway for the template in Lambda mode: every function is
// its built bootstrap under the runtime interface emulator.
func NewLambdaServer(tmpl *samtemplate.Template, cfg LambdaConfig) (*LambdaServer, error) {
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
	return &LambdaServer{Handler: h, lambdas: l}, nil
}

// NewServer builds the gateway for the template on svcs, every function mounting its
// operation as functions declares it, behind auth.
func NewServer(tmpl *samtemplate.Template, svcs api.Services, auth *authorizer.Authorizer, usage *authorizer.Usage) (*InProcessServer, error) {
	return NewServerWith(tmpl, func(string) api.Services { return svcs }, auth, usage)
}

// NewServerWith builds the gateway with each function on its own services (the tests
// give each a DynamoDB client that allows only what the function's role allows).
func NewServerWith(tmpl *samtemplate.Template, servicesFor func(function string) api.Services, auth *authorizer.Authorizer, usage *authorizer.Usage) (*InProcessServer, error) {
	handlers := map[string]http.Handler{}
	for _, r := range tmpl.Routes {
		if f, ok := functions[r.Function]; ok {
			handlers[r.Function] = f.build(servicesFor(r.Function))
		}
	}
	// Each route's key, worked out once: the request's ServeMux pattern names it.
	routeKeys := map[string]string{}
	for _, r := range tmpl.Routes {
		routeKeys[r.Pattern()] = routeKey(r.Pattern())
	}
	h, err := gateway.NewWithOptions(tmpl.Routes, handlers, func(r *http.Request) (access.Caller, gateway.Verdict) {
		key, ok := routeKeys[r.Pattern]
		if !ok {
			key = routeKey(r.Pattern)
		}
		d := auth.Check(r.Context(), authorizer.Request{
			// Canonical header names: Header.Get would build them for each request.
			Token:    authorizer.BearerToken(r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")),
			SourceIP: sourceIP(r),
			Route:    key,
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
	return &InProcessServer{Handler: h, Usage: usage}, nil
}

// routeKey is the route as API Gateway names it in routeKey ("GET /orders/{id}",
// "ANY /files/{proxy+}"), from the ServeMux pattern that matched.
func routeKey(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "ANY", pattern
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

// localSetup prepares a command that runs functions locally: JSON logs, the template,
// and the environment setup wrote with the template's defaults for the notifier.
func localSetup(state, tmplPath string) (*samtemplate.Template, localEnv, error) {
	logging.Setup()
	tmpl, err := samtemplate.Load(tmplPath)
	if err != nil {
		return nil, nil, err
	}
	env, err := readLocalEnv(state, tmpl)
	if err != nil {
		return nil, nil, err
	}
	return tmpl, env, nil
}

func serve(ctx context.Context, state, tmplPath, addr string, lambdaMode bool) error {
	tmpl, env, err := localSetup(state, tmplPath)
	if err != nil {
		return err
	}
	var handler http.Handler
	if lambdaMode {
		s, err := NewLambdaServer(tmpl, localLambdaConfig(state, env))
		if err != nil {
			return err
		}
		defer s.Close()
		handler = s.Handler
	} else {
		s, err := inProcessServer(ctx, tmpl, env.Getenv)
		if err != nil {
			return err
		}
		defer s.RunUsage(ctx)() // runs after srv.Shutdown: every pending count is written
		handler = s.Handler
	}
	if err := startSchedules(ctx, tmpl, env.Getenv); err != nil {
		return err
	}
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
	srv := gateway.Server(handler, gateway.APIGatewayLimits)
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

// inProcessServer is the gateway with every function and the authorizer in this
// process, loaded as their mains load them, from getenv.
func inProcessServer(ctx context.Context, tmpl *samtemplate.Template, getenv func(string) string) (*InProcessServer, error) {
	settings, err := boot.LoadSettings(getenv)
	if err != nil {
		return nil, err
	}
	svcs, err := boot.LoadWith(ctx, settings, boot.Everything)
	if err != nil {
		return nil, err
	}
	clients, err := boot.NewClients(settings)
	if err != nil {
		return nil, err
	}
	auth, usage, err := boot.NewAuthorizer(settings, boot.NewTable(settings, clients), svcs.Tokens.Keys, nil)
	if err != nil {
		return nil, err
	}
	return NewServer(tmpl, svcs, auth, usage)
}

// localLambdaConfig is Lambda mode on the `make run` stack: the binaries of make
// build-local (TG_LAMBDA_DIR), the emulator make installs (TG_RIE), the settings setup
// wrote to <state>/env with the local stand-ins in-process mode uses too (the sender and
// the console address: localEnv), and TG_LAMBDA_PORT as the first of the emulators'
// ports (free ports when unset).
func localLambdaConfig(state string, env localEnv) LambdaConfig {
	base, _ := localstack.LambdaPort.In(localstack.Run, os.Getenv)
	override := map[string]string{}
	for i := len(env) - 1; i >= 0; i-- { // the first layer wins
		maps.Copy(override, env[i])
	}
	return LambdaConfig{
		RIE: envOr("TG_RIE", filepath.Join(".local", "tools", "bin", "aws-lambda-rie")), Dir: envOr("TG_LAMBDA_DIR", filepath.Join(".local", "lambda")),
		PortBase: base, Env: os.Environ(), Override: override, LogDir: filepath.Join(state, "logs", "lambda"),
	}
}
