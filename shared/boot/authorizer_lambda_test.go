package boot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/boot"
	"tokengate/shared/pepper"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// errAccessDenied is what IAM answers the authorizer's role for a call its policy does
// not allow.
var errAccessDenied = errors.New("AccessDeniedException: not authorized by the function's role")

// roleClients are the real SDK clients of the local stack, refusing what the
// authorizer's role in template.yaml does not allow: kms:GenerateDataKey, and any write
// of the pepper item (the Deny on LeadingKeys PEPPER). Every other call reaches the
// emulators as it would reach AWS.
func roleClients(t *testing.T) (boot.Clients, *int) {
	c := localtest.Clients(t)
	refused := new(int)
	var mu sync.Mutex
	deny := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("role", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			pepperKey := func(k map[string]types.AttributeValue) bool {
				pk, _ := k["pk"].(*types.AttributeValueMemberS)
				return pk != nil && pk.Value == "PEPPER"
			}
			no := false
			switch p := in.Parameters.(type) {
			case *kms.GenerateDataKeyInput:
				no = true
			case *dynamodb.PutItemInput:
				no = pepperKey(p.Item)
			case *dynamodb.UpdateItemInput:
				no = pepperKey(p.Key)
			case *dynamodb.DeleteItemInput:
				no = pepperKey(p.Key)
			}
			if no {
				mu.Lock()
				*refused++
				mu.Unlock()
				return middleware.InitializeOutput{}, middleware.Metadata{}, errAccessDenied
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	}
	cfg := c.AWS.Copy()
	cfg.APIOptions = append(cfg.APIOptions, deny)
	return boot.Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = boot.Endpoint("DynamoDB") }),
		KMS:      kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = boot.Endpoint("KMS") }),
		AWS:      cfg,
	}, refused
}

// TestAuthorizerBeforeBootstrap runs the authorizer with its role's permissions against
// a table without a pepper: it starts (no crash loop), refuses every token with one log
// line each that says why, writes no pepper, and serves once the operator has run
// bootstrap, on the same instance.
func TestAuthorizerBeforeBootstrap(t *testing.T) {
	tb := localtest.Table(t)
	key := localtest.KMSKey(t)
	role, refused := roleClients(t)
	ctx := context.Background()

	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	_, err := pepper.Ensure(ctx, role.KMS, key, &store.Table{Client: role.DynamoDB, Name: tb.Name})
	require.ErrorIs(t, err, errAccessDenied, "the role cannot create the pepper")

	clock := localtest.NewClock(time.Now())
	s := boot.Settings{TableName: tb.Name, KMSKeyID: key, Prefix: token.DefaultPrefix, Policy: token.DefaultPolicy(), Response: authorizer.ResponseSimple}
	p, err := boot.AuthorizerWith(ctx, s, role, clock.Now)
	require.NoError(t, err, "no pepper is no reason to fail the cold start")
	require.False(t, p.Ready())

	// A token tagged under a pepper the table never held: before bootstrap nothing is
	// read or allowed, whatever is presented.
	stray, err := token.NewPepper(1, make([]byte, 32))
	require.NoError(t, err)
	strayKeys, err := token.NewKeyring(stray)
	require.NoError(t, err)
	g, err := token.Generate(token.DefaultPrefix, "", strayKeys, nil)
	require.NoError(t, err)
	event := func(tok string) json.RawMessage {
		e := events.APIGatewayV2CustomAuthorizerV2Request{Version: "2.0", Type: "REQUEST", RouteKey: "GET /tokens/self",
			Headers: map[string]string{"authorization": "Bearer " + tok}}
		b, err := json.Marshal(e)
		require.NoError(t, err)
		return b
	}
	logs.Reset()
	for i := 0; i < 3; i++ {
		clock.Add(time.Second)
		out, err := p.Handle(ctx, event(g.Plaintext.Reveal()))
		require.NoError(t, err)
		require.Equal(t, events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, out)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 3, "one log line per refused request:\n%s", logs.String())
	for _, l := range lines {
		require.Contains(t, l, `"reason":"not_bootstrapped"`)
		require.Contains(t, l, "tglocal bootstrap")
		require.NotContains(t, l, g.Plaintext.Reveal())
	}
	sealed, err := tb.SealedPeppers(ctx)
	require.NoError(t, err)
	require.Empty(t, sealed, "the authorizer wrote no pepper")
	require.GreaterOrEqual(t, *refused, 1)

	// The operator bootstraps with its own credentials.
	keys := localtest.Keyring(t, tb)
	require.NoError(t, tb.PutPrincipal(ctx, &access.Principal{ID: "root", Name: "Root", Kind: "user", Scopes: []string{access.TokensRead}, Superuser: true, Version: 1}, 0))
	cat, err := access.NewCatalog()
	require.NoError(t, err)
	svc := &token.Service{Store: tb, Principals: tb, Keys: keys, Catalog: cat, Policy: token.DefaultPolicy(), Prefix: token.DefaultPrefix, Now: time.Now}
	root, err := svc.Bootstrap(ctx, "root", "test")
	require.NoError(t, err)

	clock.Add(authorizer.PepperRetry)
	out, err := p.Handle(ctx, event(root.Plaintext.Reveal()))
	require.NoError(t, err)
	require.True(t, out.(events.APIGatewayV2CustomAuthorizerSimpleResponse).IsAuthorized, "served after bootstrap, same instance")
	require.True(t, p.Ready())
}
