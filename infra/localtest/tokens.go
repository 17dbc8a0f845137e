package localtest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/shared/store"
	"tokengate/shared/token"
)

// NewToken returns an active permanent token of owner that expires at expiresAt (never
// when zero), made an hour before it, with a fresh id and a stand-in hash: for tests of
// what is stored and found, not of what verifies.
func NewToken(t testing.TB, owner, name string, expiresAt time.Time) *token.Token {
	t.Helper()
	id, err := token.NewID(owner, nil)
	require.NoError(t, err)
	created := time.Now().UTC().Truncate(time.Second)
	if !expiresAt.IsZero() {
		created = expiresAt.Add(-time.Hour)
	}
	return &token.Token{
		ID: id, OwnerID: owner, CreatedBy: owner, Name: name, Scopes: []string{"tokens:read"},
		Type: token.TypePermanent, Status: token.StatusActive, Hint: "tg_…" + string(id[len(id)-4:]),
		CreatedAt: created, UpdatedAt: created, ExpiresAt: expiresAt,
		Hash: make([]byte, 32), PepperVersion: 1, Version: 1,
	}
}

// PutToken writes a new token to tb.
func PutToken(t testing.TB, tb *store.Table, tok *token.Token) *token.Token {
	t.Helper()
	require.NoError(t, tb.Put(context.Background(), tok, 0), "put token %s", tok.ID)
	return tok
}

// Change applies f to tok and writes it back, as the token service does.
func Change(t testing.TB, tb *store.Table, tok *token.Token, f func(*token.Token)) {
	t.Helper()
	f(tok)
	old := tok.Version
	tok.Version++
	require.NoError(t, tb.Put(context.Background(), tok, old), "change token %s", tok.ID)
}

// Corrupt rewrites the stored item of token id straight in the table, as an attack run
// or a hand edit might, so that it no longer decodes: version becomes a string and
// scopes a number. Its keys and index attributes stay, so every listing still finds it.
func Corrupt(t testing.TB, tb *store.Table, id token.ID) {
	t.Helper()
	_, err := tb.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(id)},
			"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
		},
		UpdateExpression:    aws.String("SET version = :v, scopes = :s"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberS{Value: "not a number"},
			":s": &types.AttributeValueMemberN{Value: "7"},
		},
	})
	require.NoError(t, err, "corrupt token %s", id)
}
