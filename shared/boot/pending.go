package boot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/authorizer"
	"tokengate/shared/pepper"
)

// PepperRetry bounds how often an authorizer that found no pepper looks again: once the
// operator has run bootstrap, the next request after at most this long is served.
const PepperRetry = 5 * time.Second

// AuthorizerWith is Authorizer with settings read, clients made and a clock. Before
// bootstrap (no pepper in the table) the cold start does not fail: a function that exits
// on every start would only crash-loop. Instead every request is refused with one log
// line that says why, and the table is looked at again at most every PepperRetry, so the
// first request after bootstrap is served by the same instance. Any other failure to load
// is returned: main exits, and nothing is allowed.
func AuthorizerWith(ctx context.Context, s Settings, c Clients, now func() time.Time) (*Pending, error) {
	p := &Pending{settings: s, clients: c, resp: s.Response, now: now}
	if err := p.load(ctx); err != nil && !errors.Is(err, pepper.ErrNotBootstrapped) {
		return nil, err
	}
	return p, nil
}

// Pending serves the authorizer once the pepper exists and refuses everything before.
type Pending struct {
	settings Settings
	clients  Clients
	resp     authorizer.Response
	now      func() time.Time

	mu      sync.Mutex
	handler func(context.Context, json.RawMessage) (any, error)
	usage   *authorizer.Usage
	tried   time.Time
	// PepperLoad is how long the successful load took, for the cold-start line.
	PepperLoad time.Duration
}

// load reads the settings' pepper and builds the authorizer; ErrNotBootstrapped when
// there is no pepper yet.
func (p *Pending) load(ctx context.Context) error {
	p.tried = p.now()
	tb := NewTable(p.settings, p.clients)
	start := time.Now()
	keys, err := pepper.Load(ctx, p.clients.KMS, p.settings.KMSKeyID, tb)
	if err != nil {
		return err
	}
	pepperLoad := time.Since(start)
	a, usage, err := NewAuthorizer(p.settings, tb, keys, nil)
	if err != nil {
		return err
	}
	p.handler, p.usage, p.PepperLoad = a.Handler(p.resp), usage, pepperLoad
	return nil
}

// Ready reports whether the authorizer serves (the pepper was found).
func (p *Pending) Ready() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.handler != nil
}

// Flush writes pending usage counts (on SIGTERM).
func (p *Pending) Flush(ctx context.Context) {
	p.mu.Lock()
	u := p.usage
	p.mu.Unlock()
	if u != nil {
		u.Flush(ctx)
	}
}

// FlushDue writes the usage counts that are due (after each answer).
func (p *Pending) FlushDue(ctx context.Context, now time.Time) {
	p.mu.Lock()
	u := p.usage
	p.mu.Unlock()
	if u != nil {
		u.FlushDue(ctx, now)
	}
}

// Handle answers one authorizer event.
func (p *Pending) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	p.mu.Lock()
	if p.handler == nil && p.now().Sub(p.tried) >= PepperRetry {
		if err := p.load(ctx); err == nil {
			slog.InfoContext(ctx, "pepper found: the authorizer serves from now on")
		} else if !errors.Is(err, pepper.ErrNotBootstrapped) {
			slog.ErrorContext(ctx, "authorizer: loading the pepper failed", "err", err)
		}
	}
	h := p.handler
	p.mu.Unlock()
	if h != nil {
		return h(ctx, raw)
	}
	slog.WarnContext(ctx, "authorizer decision", "allow", false, "reason", "not_bootstrapped",
		"detail", "tokengate is not bootstrapped: the table "+p.settings.TableName+" holds no pepper, so every token is refused; an operator runs `tglocal bootstrap` once")
	return deny(raw, p.resp)
}

// deny refuses an event of any format the authorizer accepts, as the authorizer refuses
// a token that is not valid.
func deny(raw json.RawMessage, resp authorizer.Response) (any, error) {
	var probe struct {
		Version  string `json:"version"`
		Type     string `json:"type"`
		RouteArn string `json:"routeArn"`
	}
	_ = json.Unmarshal(raw, &probe)
	switch {
	case probe.Version == "2.0" && resp == authorizer.ResponseIAM:
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{
			PrincipalID: "denied",
			PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{probe.RouteArn},
			}}},
		}, nil
	case probe.Version == "2.0":
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	return nil, authorizer.ErrUnauthorized
}
