package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/access"
	"tokengate/shared/token"
)

// Principals live under pk PRINCIPAL#<id>, sk PRINCIPAL.
type principalItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	ID        string   `dynamodbav:"id"`
	Name      string   `dynamodbav:"name,omitempty"`
	Email     string   `dynamodbav:"email,omitempty"`
	Kind      string   `dynamodbav:"kind,omitempty"`
	Roles     []string `dynamodbav:"roles,stringset,omitempty"`
	Scopes    []string `dynamodbav:"scopes,stringset,omitempty"`
	Superuser bool     `dynamodbav:"superuser,omitempty"`
}

func principalKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + id},
		"sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"},
	}
}

// GetPrincipal returns token.ErrNotFound when no principal has this id.
func (tb *Table) GetPrincipal(ctx context.Context, id string) (*access.Principal, error) {
	out, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tb.Name), Key: principalKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get principal %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, token.ErrNotFound
	}
	var it principalItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode principal %s: %w", id, err)
	}
	return &access.Principal{ID: it.ID, Name: it.Name, Email: it.Email, Kind: it.Kind, Roles: it.Roles, Scopes: it.Scopes, Superuser: it.Superuser}, nil
}

// PutPrincipal writes a principal whole.
func (tb *Table) PutPrincipal(ctx context.Context, p *access.Principal) error {
	av, err := attributevalue.MarshalMap(principalItem{
		PK: "PRINCIPAL#" + p.ID, SK: "PRINCIPAL", ID: p.ID, Name: p.Name, Email: p.Email, Kind: p.Kind,
		Roles: p.Roles, Scopes: p.Scopes, Superuser: p.Superuser,
	})
	if err != nil {
		return fmt.Errorf("encode principal %s: %w", p.ID, err)
	}
	if _, err := tb.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tb.Name), Item: av}); err != nil {
		return fmt.Errorf("put principal %s: %w", p.ID, err)
	}
	return nil
}
