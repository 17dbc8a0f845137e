package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

// newToken is an active token of owner, as Service.Create makes one, with its audit record.
func newToken(t *testing.T, owner *access.Principal) (*token.Token, audit.Event) {
	t.Helper()
	id, err := token.NewID(owner.ID, nil)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	tok := &token.Token{ID: id, OwnerID: owner.ID, CreatedBy: owner.ID, MintedBy: owner.ID, OwnerIncarnation: owner.Incarnation,
		Name: "t", Scopes: []string{access.TokensRead}, Type: token.TypeTemporary, Status: token.StatusActive, Hint: "tg_…abcd",
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(time.Hour), Hash: make([]byte, 32), PepperVersion: 1, Version: 1}
	ev := audit.Event{ID: localtest.Name("ev"), Time: now, Version: 1, Type: audit.EventCreate, ActorID: owner.ID, ActorTokenID: "x",
		TokenID: string(id), OwnerID: owner.ID, Changes: []audit.Change{{Field: "name", To: "t"}}}
	return tok, ev
}

// records counts the audit records of a token.
func records(t *testing.T, tb *store.Table, id token.ID) int {
	t.Helper()
	events, _, err := tb.Events(context.Background(), audit.Filter{TokenID: string(id)})
	require.NoError(t, err)
	return len(events)
}

// TestCreateChecksOwner: a new token is written with its audit record only while its
// owner principal is the one checked (id, incarnation, version); otherwise neither is.
func TestCreateChecksOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tb := localtest.Table(t)
	alice := &access.Principal{ID: "alice", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, alice, 0))
	require.NotEmpty(t, alice.Incarnation)
	// A principal stored before incarnations existed has none.
	legacy := &access.Principal{ID: "legacy", Scopes: []string{access.TokensRead}, Version: 4, Incarnation: ""}
	require.NoError(t, tb.PutPrincipal(ctx, &access.Principal{ID: "legacy", Version: 4, Incarnation: "to-be-removed"}, 0))
	_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), UpdateExpression: aws.String("REMOVE incarnation"), ConditionExpression: aws.String("attribute_exists(pk)"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + token.OwnerRef("legacy")}, "sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"}},
	})
	require.NoError(t, err)
	got, err := tb.GetPrincipal(ctx, "legacy")
	require.NoError(t, err)
	require.Empty(t, got.Incarnation)

	current := token.CheckOf(alice)
	tests := []struct {
		name  string
		owner *access.Principal
		check token.OwnerCheck
		want  error
	}{
		{"OK", alice, current, nil},
		{"ErrOwnerChangedVersion", alice, token.OwnerCheck{ID: "alice", Incarnation: alice.Incarnation, Version: 2}, token.ErrOwnerChanged},
		{"ErrOwnerChangedIncarnation", alice, token.OwnerCheck{ID: "alice", Incarnation: "0123456789abcdef", Version: 1}, token.ErrOwnerChanged},
		{"ErrOwnerChangedNoIncarnationClaimed", alice, token.OwnerCheck{ID: "alice", Version: 1}, token.ErrOwnerChanged},
		{"ErrOwnerChangedNoSuchPrincipal", &access.Principal{ID: "nobody"}, token.OwnerCheck{ID: "nobody", Version: 1}, token.ErrOwnerChanged},
		{"LegacyOK", legacy, token.OwnerCheck{ID: "legacy", Version: 4}, nil},
		{"LegacyErrOwnerChanged", legacy, token.OwnerCheck{ID: "legacy", Incarnation: "0123456789abcdef", Version: 4}, token.ErrOwnerChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, ev := newToken(t, tt.owner)
			err := tb.Create(ctx, tok, tt.check, token.ParentCheck{}, ev)
			if tt.want == nil {
				require.NoError(t, err)
				got, err := tb.Get(ctx, tok.ID)
				require.NoError(t, err)
				require.Equal(t, tt.owner.Incarnation, got.OwnerIncarnation)
				require.Equal(t, 1, records(t, tb, tok.ID), "one audit record")
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, err, fault.ErrConflict, "an owner changed is a conflict to callers that do not decide again")
			_, err = tb.Get(ctx, tok.ID)
			require.ErrorIs(t, err, fault.ErrNotFound, "no token written")
			require.Zero(t, records(t, tb, tok.ID), "no audit record written")
		})
	}

	t.Run("ErrConflictIDTaken", func(t *testing.T) {
		tok, ev := newToken(t, alice)
		require.NoError(t, tb.Create(ctx, tok, current, token.ParentCheck{}, ev))
		again := *tok
		again.Name = "replaced"
		ev2 := ev
		ev2.ID = localtest.Name("ev")
		err := tb.Create(ctx, &again, current, token.ParentCheck{}, ev2)
		require.ErrorIs(t, err, fault.ErrConflict)
		require.NotErrorIs(t, err, token.ErrOwnerChanged)
		got, err := tb.Get(ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, "t", got.Name, "the first token stays")
		require.Equal(t, 1, records(t, tb, tok.ID), "and only its audit record")
	})

	t.Run("ChangeOfThePrincipalFailsTheOldCheck", func(t *testing.T) {
		p, err := tb.GetPrincipal(ctx, "alice")
		require.NoError(t, err)
		old := token.CheckOf(p)
		p.Name, p.Version = "Alice", p.Version+1
		require.NoError(t, tb.PutPrincipal(ctx, p, old.Version))
		tok, ev := newToken(t, p)
		require.ErrorIs(t, tb.Create(ctx, tok, old, token.ParentCheck{}, ev), token.ErrOwnerChanged)
		require.NoError(t, tb.Create(ctx, tok, token.CheckOf(p), token.ParentCheck{}, ev))
	})
}
