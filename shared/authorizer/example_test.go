package authorizer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// A whole authorizer for another API, a shop behind an HTTP API: its tokens carry the
// shop's own scopes and ROUTE_SCOPES says which route needs which. The table is in
// memory here (in a Lambda function, shared/store reads DynamoDB and shared/pepper
// decrypts the pepper with KMS); the rest is what the function runs, lambda.Start(handler).
func Example() {
	catalog, _ := access.NewCatalog(
		access.Scope{Name: "orders:read", Risk: access.RiskLow, Description: "Read orders"},
		access.Scope{Name: "orders:refund", Risk: access.RiskMedium, Description: "Refund orders"},
	)
	pepper, _ := token.NewPepper(1, bytes.Repeat([]byte{42}, 32))
	keys, _ := token.NewKeyring(pepper)

	// One token of alice's, stored as token.Service.Create stores it: a keyed hash, never the secret.
	table := newMemTokens()
	alice := &access.Principal{ID: "alice", Scopes: []string{"orders:read"}, Version: 1, Incarnation: "a1"}
	table.putOwner(alice)
	id, _ := token.NewID(alice.ID, nil)
	minted, _ := token.Generate("shop", id, keys, nil)
	table.putToken(&token.Token{ID: id, OwnerID: alice.ID, OwnerIncarnation: alice.Incarnation, Scopes: []string{"orders:read"},
		Status: token.StatusActive, Hash: pepper.Hash(minted.Secret), PepperVersion: pepper.Version})

	a := authorizer.New(authorizer.Config{
		Tokens: table, Keys: keys, Catalog: catalog, Prefix: "shop",
		RouteScopes: map[string][]string{
			"GET /orders/{id}":         {"orders:read"},
			"POST /orders/{id}/refund": {"orders:refund"},
		},
		CacheTTL: 30 * time.Second,
		Log:      io.Discard, // each decision's JSON line (Lambda's stdout)
	})
	handler := a.Handler(authorizer.ResponseSimple)

	bearer := "Bearer " + minted.Plaintext.Reveal()
	for _, req := range []struct{ route, authorization string }{
		{"GET /orders/{id}", bearer},
		{"POST /orders/{id}/refund", bearer},        // alice lacks orders:refund
		{"DELETE /orders/{id}", bearer},             // a route ROUTE_SCOPES does not list
		{"GET /orders/{id}", "Bearer shop_made_up"}, // refused without a read
	} {
		event, _ := json.Marshal(events.APIGatewayV2CustomAuthorizerV2Request{
			Version: "2.0", Type: "REQUEST", RouteKey: req.route,
			Headers: map[string]string{"authorization": req.authorization},
		})
		answer, err := handler(context.Background(), event)
		if err != nil {
			fmt.Println(err)
			continue
		}
		r := answer.(events.APIGatewayV2CustomAuthorizerSimpleResponse)
		if !r.IsAuthorized {
			fmt.Printf("%s: denied\n", req.route)
			continue
		}
		fmt.Printf("%s: allowed, owner %v, scopes %v, risk %v\n", req.route, r.Context["ownerId"], r.Context["scopes"], r.Context["risk"])
	}
	// Output:
	// GET /orders/{id}: allowed, owner alice, scopes orders:read, risk low
	// POST /orders/{id}/refund: denied
	// DELETE /orders/{id}: denied
	// GET /orders/{id}: denied
}

// A REST API REQUEST authorizer answers in the three ways API Gateway understands: an
// Allow policy for the route's resource template (so API Gateway's cache of the answer
// serves /orders/43 too), an explicit Deny (403) for a valid token refused this request,
// here from outside its IP allowlist, and Unauthorized (401) for a token that is not valid.
func ExampleAuthorizer_RESTRequest() {
	keys := testKeys()
	table := newMemTokens()
	ops := &access.Principal{ID: "ops", Scopes: []string{access.TokensRead}, Version: 1, Incarnation: "o1"}
	table.putOwner(ops)
	tok, s := mint(keys, ops, time.Now())
	tok.Restrictions.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	table.putToken(tok)
	a := authorizer.New(authorizer.Config{Tokens: table, Keys: keys, Prefix: "tg", Log: io.Discard})

	ask := func(from, presented string) {
		res, err := a.RESTRequest(context.Background(), events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:api1/prod/GET/orders/42",
			Resource: "/orders/{id}", HTTPMethod: "GET",
			Headers:        map[string]string{"Authorization": "Bearer " + presented},
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: from}},
		})
		if err != nil {
			fmt.Println(from, err)
			return
		}
		st := res.PolicyDocument.Statement[0]
		fmt.Println(from, res.PrincipalID, st.Effect, st.Resource[0])
	}
	ask("203.0.113.7", s)
	ask("198.51.100.1", s)
	ask("203.0.113.7", mistype(s)) // a bad checksum
	// Output:
	// 203.0.113.7 ops Allow arn:aws:execute-api:eu-west-1:123456789012:api1/prod/GET/orders/*
	// 198.51.100.1 denied Deny arn:aws:execute-api:eu-west-1:123456789012:api1/prod/GET/orders/*
	// 203.0.113.7 Unauthorized
}

// Check is the decision whatever the event format: allow with the caller, or the reason
// it refused, for the log only; a caller never learns it.
func ExampleAuthorizer_Check() {
	keys := testKeys()
	table := newMemTokens()
	alice := &access.Principal{ID: "alice", Scopes: []string{access.TokensRead}, Version: 3, Incarnation: "a1"}
	table.putOwner(alice)
	tok, s := mint(keys, alice, time.Now(), access.TokensRead, access.TokensWrite)
	table.putToken(tok)
	a := authorizer.New(authorizer.Config{Tokens: table, Keys: keys, Prefix: "tg", Log: io.Discard})

	d := a.Check(context.Background(), authorizer.Request{Token: s, SourceIP: "192.0.2.1", Route: "GET /tokens"})
	fmt.Println(d.Allow, d.Reason, d.Caller.OwnerID, d.Caller.Scopes, d.Caller.OwnerVersion)

	table.change(tok.ID, func(t *token.Token) { t.Status = token.StatusRevoked })
	d = a.Check(context.Background(), authorizer.Request{Token: s})
	fmt.Println(d.Allow, d.Reason, d.Reason.Rejected())
	// Output:
	// true ok alice [tokens:read] 3
	// false inactive true
}
