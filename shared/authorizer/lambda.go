package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/token"
)

// PepperRetry bounds how often an authorizer that found no pepper looks again: once the
// operator has run bootstrap, the next request after at most this long is served.
const PepperRetry = 5 * time.Second

// FunctionConfig is how a Function loads the authorizer it serves.
type FunctionConfig struct {
	// Load reads the pepper and builds the authorizer and its usage recorder; an error
	// that is token.ErrNotBootstrapped means "not yet", any other a failure.
	Load func(context.Context) (*Authorizer, *Usage, error)
	// Response is the HTTP API response format (AUTHORIZER_RESPONSE).
	Response Response
	// Table names the table in the refusal's log line before bootstrap.
	Table string
	Now   func() time.Time
}

// NewFunction is the authorizer as its Lambda function runs it. Before bootstrap (no
// pepper in the table) the cold start does not fail: a function that exits on every
// start would only crash-loop. Instead every request is refused with one log line that
// says why, and the table is looked at again at most every PepperRetry, so the first
// request after bootstrap is served by the same instance. Any other failure to load is
// returned: main exits, and nothing is allowed.
func NewFunction(ctx context.Context, c FunctionConfig) (*Function, error) {
	f := &Function{config: c}
	if f.config.Now == nil {
		f.config.Now = time.Now
	}
	if err := f.load(ctx); err != nil && !errors.Is(err, token.ErrNotBootstrapped) {
		return nil, err
	}
	return f, nil
}

// Function serves the authorizer once the pepper exists and refuses everything before.
type Function struct {
	config FunctionConfig

	mu      sync.Mutex
	handler func(context.Context, json.RawMessage) (any, error)
	usage   *Usage
	tried   time.Time
	// PepperLoad is how long the successful load took, for the cold-start line.
	PepperLoad time.Duration
}

// load builds the authorizer; token.ErrNotBootstrapped when there is no pepper yet.
func (f *Function) load(ctx context.Context) error {
	f.tried = f.config.Now()
	start := time.Now()
	a, usage, err := f.config.Load(ctx)
	if err != nil {
		return err
	}
	f.handler, f.usage, f.PepperLoad = a.Handler(f.config.Response), usage, time.Since(start)
	return nil
}

// Ready reports whether the authorizer serves (the pepper was found).
func (f *Function) Ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handler != nil
}

// Flush writes pending usage counts (on SIGTERM).
func (f *Function) Flush(ctx context.Context) {
	if u := f.currentUsage(); u != nil {
		u.Flush(ctx)
	}
}

// FlushDue writes the usage counts that are due (after each answer).
func (f *Function) FlushDue(ctx context.Context, now time.Time) {
	if u := f.currentUsage(); u != nil {
		u.FlushDue(ctx, now)
	}
}

func (f *Function) currentUsage() *Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.usage
}

// Handle answers one authorizer event.
func (f *Function) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	f.mu.Lock()
	if f.handler == nil && f.config.Now().Sub(f.tried) >= PepperRetry {
		if err := f.load(ctx); err == nil {
			slog.InfoContext(ctx, "pepper found: the authorizer serves from now on")
		} else if !errors.Is(err, token.ErrNotBootstrapped) {
			slog.ErrorContext(ctx, "authorizer: loading the pepper failed", "err", err)
		}
	}
	h := f.handler
	f.mu.Unlock()
	if h != nil {
		return h(ctx, raw)
	}
	slog.WarnContext(ctx, "authorizer decision", "allow", false, "reason", "not_bootstrapped",
		"detail", "tokengate is not bootstrapped: the table "+f.config.Table+" holds no pepper, so every token is refused; an operator runs `tglocal bootstrap` once")
	return denyEvent(raw, f.config.Response)
}

// denyEvent refuses an event of any format the authorizer accepts, as the authorizer
// refuses a token that is not valid, without reading it further.
func denyEvent(raw json.RawMessage, resp Response) (any, error) {
	var probe struct {
		Version  string `json:"version"`
		RouteArn string `json:"routeArn"`
	}
	_ = json.Unmarshal(raw, &probe)
	switch {
	case probe.Version == "2.0" && resp == ResponseIAM:
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: "denied", PolicyDocument: policy(false, probe.RouteArn)}, nil
	case probe.Version == "2.0":
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	return nil, ErrUnauthorized
}
