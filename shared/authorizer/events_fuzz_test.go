package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// noReads is the authorizer's token reader for FuzzAuthorizerEvent: a made-up string
// never carries a tag that verifies, so reaching the table at all breaks a property.
type noReads struct{ reads atomic.Int64 }

func (n *noReads) Get(context.Context, token.ID) (*token.Token, error) {
	n.reads.Add(1)
	return nil, errors.New("no read expected")
}

func (n *noReads) GetWithOwner(context.Context, token.ID) (*token.Token, *access.Principal, error) {
	n.reads.Add(1)
	return nil, nil, errors.New("no read expected")
}

func (n *noReads) GetMany(context.Context, []token.ID) (map[token.ID]*token.Token, error) {
	n.reads.Add(1)
	return nil, errors.New("no read expected")
}

// FuzzAuthorizerEvent: any event, in the HTTP API (simple and IAM responses) and REST
// (TOKEN and REQUEST) formats the authorizer function accepts.
// Properties: no panic; nothing is ever allowed (no string without a pepper's tag is a
// token); a forged or malformed token costs no read; every answer is a deny in the
// event's own format (isAuthorized false, an IAM Deny, or Unauthorized for REST).
func FuzzAuthorizerEvent(f *testing.F) {
	pep, err := token.NewPepper(1, bytes.Repeat([]byte{9}, 32))
	if err != nil {
		f.Fatal(err)
	}
	keys, err := token.NewKeyring(pep)
	if err != nil {
		f.Fatal(err)
	}
	other, _ := token.NewPepper(1, bytes.Repeat([]byte{8}, 32))
	otherKeys, _ := token.NewKeyring(other)
	forged, err := token.Generate(token.DefaultPrefix, "", otherKeys, nil)
	if err != nil {
		f.Fatal(err)
	}
	cat, err := access.NewCatalog()
	if err != nil {
		f.Fatal(err)
	}
	reads := &noReads{}
	a := authorizer.New(authorizer.Config{Tokens: reads, Keys: keys, Catalog: cat, Prefix: token.DefaultPrefix, Log: io.Discard})
	handlers := []func(context.Context, json.RawMessage) (any, error){a.Handler(authorizer.ResponseSimple), a.Handler(authorizer.ResponseIAM)}

	bearer := "Bearer " + forged.Plaintext.Reveal()
	for _, e := range []any{
		events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /tokens/self", RouteArn: "arn:aws:execute-api:eu-west-1:1:api/$default/GET/tokens/self", Headers: map[string]string{"authorization": bearer}},
		events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: bearer, MethodArn: "arn:aws:execute-api:eu-west-1:1:api/prod/GET/tokens"},
		events.APIGatewayCustomAuthorizerRequestTypeRequest{Type: "REQUEST", MethodArn: "arn:aws:execute-api:eu-west-1:1:api/prod/POST/tokens", Headers: map[string]string{"X-API-Key": forged.Plaintext.Reveal()}, HTTPMethod: "POST", Path: "/tokens"},
	} {
		b, _ := json.Marshal(e)
		f.Add(b)
	}
	f.Add([]byte(`{"version":"2.0","headers":{"authorization":"Bearer tg_"}}`))
	f.Add([]byte(`{"type":"TOKEN","authorizationToken":"bearer  x","methodArn":"a/b/c"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, h := range handlers {
			out, err := h(context.Background(), raw)
			switch r := out.(type) {
			case nil:
				if err == nil {
					t.Fatal("no answer and no error")
				}
			case events.APIGatewayV2CustomAuthorizerSimpleResponse:
				if r.IsAuthorized {
					t.Fatalf("allowed %q", raw)
				}
			case events.APIGatewayV2CustomAuthorizerIAMPolicyResponse:
				denies(t, raw, r.PolicyDocument)
			case events.APIGatewayCustomAuthorizerResponse:
				denies(t, raw, r.PolicyDocument)
			default:
				t.Fatalf("answered %T", out)
			}
		}
		if n := reads.reads.Load(); n != 0 {
			t.Fatalf("%d table reads for a string no pepper tagged", n)
		}
	})
}

func denies(t *testing.T, raw []byte, p events.APIGatewayCustomAuthorizerPolicy) {
	t.Helper()
	for _, s := range p.Statement {
		if s.Effect != "Deny" {
			t.Fatalf("%q: policy statement %+v", raw, s)
		}
	}
}
