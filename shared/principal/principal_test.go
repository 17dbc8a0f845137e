package principal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// ops holds the application scopes of the continuous-integration role, so it may grant it.
var ops = access.Caller{TokenID: "ops-token", OwnerID: "ops", Scopes: []string{
	access.TokensRead, access.TokensWrite, access.TokensAdmin, "orders:read", "deployments:write",
}}

// TestRoleRemovalNarrowsTokens follows a token through its owner's changes, as the
// authorizer sees it with its cache off: taking a role away narrows the token at once,
// deleting the owner ends it.
func TestRoleRemovalNarrowsTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := localtest.NewClock(time.Now().UTC().Truncate(time.Second))
	tokens := localtest.Service(t, clock.Now)
	cat, err := access.LoadCatalog("../../infra/catalog.json")
	require.NoError(t, err)
	tokens.Catalog = cat
	tb := tokens.Store.(*store.Table)
	require.NoError(t, tb.PutPrincipal(ctx, &access.Principal{ID: "ops", Name: "Ops", Scopes: ops.Scopes, Version: 1}, 0))
	principals := &principal.Service{Store: tb, Catalog: cat, Now: clock.Now}
	auth := authorizer.New(authorizer.Config{Tokens: tb, Keys: tokens.Keys, Catalog: cat, Prefix: token.DefaultPrefix, Now: clock.Now, CacheTTL: 0})

	_, err = principals.Create(ctx, ops, principal.CreateInput{
		ID: "ci-bot", Name: "CI bot", Kind: principal.KindApplication,
		Roles: []string{"continuous-integration"}, Scopes: []string{"orders:read"},
	})
	require.NoError(t, err)
	created, err := tokens.Create(ctx, ops, token.CreateInput{
		Name: "deploys", OwnerID: "ci-bot", Type: token.TypeTemporary,
		Scopes: []string{"orders:read", "deployments:write"}, Reason: "deploys from CI",
	})
	require.NoError(t, err)
	check := func() authorizer.Decision {
		return auth.Check(ctx, authorizer.Request{Token: created.Plaintext.Reveal(), SourceIP: "203.0.113.9", Route: "POST /deployments"})
	}

	d := check()
	require.True(t, d.Allow, d.Reason)
	require.ElementsMatch(t, []string{"orders:read", "deployments:write"}, d.Caller.Scopes)
	require.Equal(t, access.RiskMedium, d.Caller.Risk)

	// admin lacks deployments:write, yet may take it away: that grants nothing.
	_, err = principals.Update(ctx, localtest.Admin, "ci-bot", principal.UpdateInput{Roles: &[]string{}}, 0)
	require.NoError(t, err)
	d = check()
	require.True(t, d.Allow, d.Reason)
	require.Equal(t, []string{"orders:read"}, d.Caller.Scopes, "narrowed to what the owner still holds")
	require.Equal(t, access.RiskLow, d.Caller.Risk)

	_, err = principals.Update(ctx, localtest.Admin, "ci-bot", principal.UpdateInput{Scopes: &[]string{}}, 0)
	require.NoError(t, err)
	d = check()
	require.False(t, d.Allow)
	require.Equal(t, authorizer.ReasonOwnerScopes, d.Reason, "nothing left to act with")

	require.NoError(t, principals.Delete(ctx, localtest.Admin, "ci-bot"))
	d = check()
	require.False(t, d.Allow)
	require.Equal(t, authorizer.ReasonOwnerGone, d.Reason)
}

// TestErrors pins the errors each operation returns, which shared/api maps to statuses.
func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := localtest.Table(t)
	localtest.SeedPrincipals(t, tb)
	cat, err := access.LoadCatalog("../../infra/catalog.json")
	require.NoError(t, err)
	svc := &principal.Service{Store: tb, Catalog: cat, Now: time.Now}
	alice := access.Caller{TokenID: "a", OwnerID: "alice", Scopes: []string{access.TokensRead, access.TokensWrite}}

	var forbidden *fault.ForbiddenError
	_, _, err = svc.List(ctx, alice, 0, "")
	require.ErrorAs(t, err, &forbidden)
	_, err = svc.Get(ctx, alice, "bob")
	require.ErrorAs(t, err, &forbidden)
	me, err := svc.Get(ctx, alice, "alice")
	require.NoError(t, err)
	require.Equal(t, "alice", me.ID)

	for _, id := range []string{"nobody", "not a valid id", ""} {
		_, err = svc.Get(ctx, localtest.Admin, id)
		require.ErrorIs(t, err, fault.ErrNotFound, id)
		require.ErrorIs(t, svc.Delete(ctx, localtest.Admin, id), fault.ErrNotFound, id)
	}
	_, _, err = svc.List(ctx, localtest.Admin, 101, "")
	var invalid *fault.InvalidError
	require.ErrorAs(t, err, &invalid)
	require.Equal(t, "limit", invalid.Fields[0].Field)

	_, err = svc.Update(ctx, localtest.Admin, "bob", principal.UpdateInput{Name: ptr("Robert")}, 7)
	require.ErrorIs(t, err, fault.ErrConflict, "stale version")

	_, err = svc.Create(ctx, localtest.Admin, principal.CreateInput{ID: "bob", Name: "Bob"})
	var state *fault.StateError
	require.ErrorAs(t, err, &state)
	require.False(t, errors.Is(err, fault.ErrConflict), "a taken id is no lost race: it says why")

	page, next, err := svc.List(ctx, localtest.Admin, 2, "")
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.NotEmpty(t, next)
}

func ptr[T any](v T) *T { return &v }
