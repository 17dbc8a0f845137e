package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrUnauthorized is what a REST API authorizer returns for a token that is missing or
// not valid: API Gateway answers 401. It says nothing more on purpose.
var ErrUnauthorized = errors.New("Unauthorized")

// Response chooses the HTTP API (payload 2.0) response format.
type Response string

const (
	ResponseSimple Response = "simple" // {"isAuthorized": …, "context": …}
	ResponseIAM    Response = "iam"    // an IAM policy, as REST APIs use
)

// Handler returns the Lambda handler for every event format API Gateway sends to a
// Lambda authorizer: HTTP API REQUEST (payload 2.0, simple or IAM response as resp
// says), and REST API TOKEN and REQUEST (IAM policy).
func (a *Authorizer) Handler(resp Response) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Version string `json:"version"`
			Type    string `json:"type"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("authorizer event: %w", err)
		}
		switch {
		case probe.Version == "2.0":
			var e events.APIGatewayV2CustomAuthorizerV2Request
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("http api authorizer event: %w", err)
			}
			if resp == ResponseIAM {
				return a.HTTPIAM(ctx, e)
			}
			return a.HTTPSimple(ctx, e)
		case probe.Type == "TOKEN":
			var e events.APIGatewayCustomAuthorizerRequest
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("rest token authorizer event: %w", err)
			}
			return a.RESTToken(ctx, e)
		case probe.Type == "REQUEST":
			var e events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("rest request authorizer event: %w", err)
			}
			return a.RESTRequest(ctx, e)
		}
		return nil, fmt.Errorf("authorizer event: unknown format (version %q, type %q)", probe.Version, probe.Type)
	}
}

// HTTPSimple answers an HTTP API REQUEST event with the simple response.
func (a *Authorizer) HTTPSimple(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	d := a.Check(ctx, httpRequest(e))
	if !d.Allow {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: contextOf(d)}, nil
}

// HTTPIAM answers an HTTP API REQUEST event with an IAM policy for the route: its
// template, as for REST (RouteARN), so a cache keyed on the route reuses it correctly.
func (a *Authorizer) HTTPIAM(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerIAMPolicyResponse, error) {
	d := a.Check(ctx, httpRequest(e))
	resource := e.RouteArn
	if _, template, ok := strings.Cut(e.RouteKey, " "); ok { // not "$default"
		resource = RouteARN(e.RouteArn, e.RequestContext.HTTP.Method, template)
	}
	return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{
		PrincipalID: principal(d), PolicyDocument: policy(d.Allow, resource), Context: contextOf(d),
	}, nil
}

// RESTToken answers a REST API TOKEN event. The event carries no source address, so a
// token with an IP allowlist is refused there: use a REQUEST authorizer for those.
func (a *Authorizer) RESTToken(ctx context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	return a.rest(ctx, Request{Token: BearerToken(e.AuthorizationToken, ""), Route: routeFromARN(e.MethodArn)}, e.MethodArn)
}

// RESTRequest answers a REST API REQUEST event.
func (a *Authorizer) RESTRequest(ctx context.Context, e events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	req := Request{
		Token:    BearerToken(header(e.Headers, "authorization"), header(e.Headers, "x-api-key")),
		SourceIP: e.RequestContext.Identity.SourceIP,
		Route:    e.HTTPMethod + " " + e.Resource,
	}
	return a.rest(ctx, req, RouteARN(e.MethodArn, e.HTTPMethod, e.Resource))
}

// RouteARN is the policy resource of a REST REQUEST decision: the method ARN with its
// path replaced by the route's resource template, each {param} or {proxy+} a wildcard
// (arn:…:api/v1/GET/tokens/A for /tokens/{id} gives arn:…:api/v1/GET/tokens/*). API
// Gateway keys its cache of authorizer results on the identity sources, which name the
// method and the resource template, not the path: a cached Allow for /tokens/A is then
// checked against /tokens/B, and a policy naming only /tokens/A would refuse it. The
// decision depends on nothing finer than the route (ROUTE_SCOPES is keyed by templates),
// so covering the template grants nothing the authorizer did not decide. Without a
// resource (a malformed event), the method ARN itself.
func RouteARN(methodArn, method, resource string) string {
	parts := strings.SplitN(methodArn, "/", 4) // arn:…:api, stage, method, path
	if len(parts) < 3 || method == "" || !strings.HasPrefix(resource, "/") {
		return methodArn
	}
	segs := strings.Split(resource, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "*"
		}
	}
	return parts[0] + "/" + parts[1] + "/" + method + strings.Join(segs, "/")
}

// rest answers 401 (ErrUnauthorized) for a token that is not valid, an explicit Deny
// (403) for a valid token refused this request, and an Allow policy otherwise.
func (a *Authorizer) rest(ctx context.Context, req Request, methodArn string) (events.APIGatewayCustomAuthorizerResponse, error) {
	d := a.Check(ctx, req)
	if !d.Allow && d.Reason.Rejected() {
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal(d), PolicyDocument: policy(d.Allow, methodArn), Context: contextOf(d),
	}, nil
}

func httpRequest(e events.APIGatewayV2CustomAuthorizerV2Request) Request {
	return Request{
		Token:    BearerToken(header(e.Headers, "authorization"), header(e.Headers, "x-api-key")),
		SourceIP: e.RequestContext.HTTP.SourceIP,
		Route:    e.RouteKey,
	}
}

func contextOf(d Decision) map[string]any {
	if !d.Allow {
		return nil
	}
	m := map[string]any{}
	for k, v := range d.Caller.Context() {
		m[k] = v
	}
	return m
}

func principal(d Decision) string {
	if d.Allow {
		return d.Caller.OwnerID
	}
	return "denied"
}

func policy(allow bool, resource string) events.APIGatewayCustomAuthorizerPolicy {
	effect := "Deny"
	if allow {
		effect = "Allow"
	}
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{resource},
		}},
	}
}

// routeFromARN turns a method ARN (arn:aws:execute-api:region:account:api/stage/GET/orders/1)
// into "GET /orders/1".
func routeFromARN(arn string) string {
	parts := strings.SplitN(arn, "/", 4)
	if len(parts) < 3 {
		return ""
	}
	path := "/"
	if len(parts) == 4 {
		path += parts[3]
	}
	return parts[2] + " " + path
}

// header reads a header case-insensitively: API Gateway lower-cases HTTP API headers,
// REST APIs keep the client's case.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
