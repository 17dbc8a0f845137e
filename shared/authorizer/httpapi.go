package authorizer

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// HTTPSimple answers an HTTP API (payload 2.0) REQUEST authorizer event with the simple
// response: isAuthorized and the caller as context.
func (a *Authorizer) HTTPSimple(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	d := a.Check(ctx, Request{
		Token:    BearerToken(header(e.Headers, "authorization"), header(e.Headers, "x-api-key")),
		SourceIP: e.RequestContext.HTTP.SourceIP,
		Route:    e.RouteKey,
	})
	if !d.Allow {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
	}
	ctxMap := map[string]any{}
	for k, v := range d.Caller.Context() {
		ctxMap[k] = v
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: ctxMap}, nil
}

// header reads a header case-insensitively: API Gateway lower-cases HTTP API headers,
// but test tools and REST APIs may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if len(k) == len(name) && equalFold(k, name) {
			return v
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
