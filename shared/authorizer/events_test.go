package authorizer_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// TestAnswersEachEventFormatInItsOwn: one Handler takes every event API Gateway sends a
// Lambda authorizer and answers in that event's format.
func TestAnswersEachEventFormatInItsOwn(t *testing.T) {
	w := newWorld()
	tok, s := w.token(nil)
	_, fenced := w.token(func(t *token.Token) {
		t.Restrictions.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	})
	a := w.authorizer(authorizer.Config{})
	ctx := context.Background()
	call := func(h func(context.Context, json.RawMessage) (any, error), e any) (any, error) {
		raw, err := json.Marshal(e)
		require.NoError(t, err)
		return h(ctx, raw)
	}
	const arn = "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens/" // + the id
	simple, iam := a.Handler(authorizer.ResponseSimple), a.Handler(authorizer.ResponseIAM)

	t.Run("HTTP API, simple response", func(t *testing.T) {
		out, err := call(simple, events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", RouteKey: "GET /tokens/{id}",
			Headers: map[string]string{"x-api-key": s}})
		require.NoError(t, err)
		r := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse)
		require.True(t, r.IsAuthorized)
		require.Equal(t, string(tok.ID), r.Context["tokenId"])
		require.Equal(t, "1", r.Context["ownerVersion"])
	})
	t.Run("HTTP API, IAM response: the route's template", func(t *testing.T) {
		e := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", RouteKey: "GET /tokens/{id}", RouteArn: arn + "A",
			Headers: map[string]string{"authorization": "Bearer " + s}}
		e.RequestContext.HTTP.Method = "GET"
		out, err := call(iam, e)
		require.NoError(t, err)
		r := out.(events.APIGatewayV2CustomAuthorizerIAMPolicyResponse)
		require.Equal(t, "alice", r.PrincipalID)
		require.Equal(t, "Allow", r.PolicyDocument.Statement[0].Effect)
		require.Equal(t, []string{arn + "*"}, r.PolicyDocument.Statement[0].Resource)

		e.RouteKey, e.RouteArn = "$default", arn+"B"
		e.Headers = map[string]string{"authorization": "Basic x"}
		out, err = call(iam, e)
		require.NoError(t, err)
		r = out.(events.APIGatewayV2CustomAuthorizerIAMPolicyResponse)
		require.Equal(t, "denied", r.PrincipalID)
		require.Equal(t, "Deny", r.PolicyDocument.Statement[0].Effect)
		require.Equal(t, []string{arn + "B"}, r.PolicyDocument.Statement[0].Resource, "$default: the route ARN itself")
		require.Empty(t, r.Context)
	})
	t.Run("REST TOKEN: no source address, so an allowlist refuses (403)", func(t *testing.T) {
		out, err := call(simple, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + s, MethodArn: arn + "A"})
		require.NoError(t, err)
		r := out.(events.APIGatewayCustomAuthorizerResponse)
		require.Equal(t, "Allow", r.PolicyDocument.Statement[0].Effect)
		require.Equal(t, []string{arn + "A"}, r.PolicyDocument.Statement[0].Resource)

		out, err = call(simple, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + fenced, MethodArn: arn + "A"})
		require.NoError(t, err)
		require.Equal(t, "Deny", out.(events.APIGatewayCustomAuthorizerResponse).PolicyDocument.Statement[0].Effect)

		_, err = call(simple, events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer " + mistype(s), MethodArn: arn + "A"})
		require.ErrorIs(t, err, authorizer.ErrUnauthorized, "not a valid token: 401")
	})
	t.Run("REST REQUEST", func(t *testing.T) {
		e := events.APIGatewayCustomAuthorizerRequestTypeRequest{Type: "REQUEST", MethodArn: arn + "A", Resource: "/tokens/{id}", HTTPMethod: "GET",
			Headers: map[string]string{"Authorization": "Bearer " + fenced}}
		e.RequestContext.Identity.SourceIP = "203.0.113.5"
		out, err := call(iam, e)
		require.NoError(t, err)
		r := out.(events.APIGatewayCustomAuthorizerResponse)
		require.Equal(t, "Allow", r.PolicyDocument.Statement[0].Effect)
		require.Equal(t, []string{arn + "*"}, r.PolicyDocument.Statement[0].Resource)
	})
	t.Run("anything else is an error, never an answer", func(t *testing.T) {
		for _, raw := range []string{`{"type":"SOMETHING"}`, `not json`, `{"version":"2.0","headers":7}`, `{"type":"TOKEN","methodArn":7}`, `{"type":"REQUEST","headers":7}`} {
			out, err := simple(ctx, json.RawMessage(raw))
			require.Error(t, err, raw)
			require.Nil(t, out)
		}
	})
}
