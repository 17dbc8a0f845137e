package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/token"
)

// Pepper versions live under pk PEPPER, sk v<version, 6 digits>, holding only KMS ciphertext.

// SealedPeppers returns every stored pepper version, oldest first.
func (tb *Table) SealedPeppers(ctx context.Context) ([]token.SealedPepper, error) {
	out, err := tb.Client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(tb.Name),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "PEPPER"}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("query peppers: %w", err)
	}
	var ps []token.SealedPepper
	for _, it := range out.Items {
		v, _ := it["version"].(*types.AttributeValueMemberN)
		c, _ := it["ciphertext"].(*types.AttributeValueMemberB)
		if v == nil || c == nil {
			return nil, fmt.Errorf("pepper item %v is incomplete", it["sk"])
		}
		n, err := strconv.Atoi(v.Value)
		if err != nil {
			return nil, fmt.Errorf("pepper item version %q: %w", v.Value, err)
		}
		ps = append(ps, token.SealedPepper{Version: n, Ciphertext: c.Value})
	}
	return ps, nil
}

// AddSealedPepper stores a new pepper version; fault.ErrConflict if it exists already
// (another cold start won the race).
func (tb *Table) AddSealedPepper(ctx context.Context, p token.SealedPepper, now time.Time) error {
	_, err := tb.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(tb.Name),
		Item: map[string]types.AttributeValue{
			"pk":         &types.AttributeValueMemberS{Value: "PEPPER"},
			"sk":         &types.AttributeValueMemberS{Value: fmt.Sprintf("v%06d", p.Version)},
			"version":    &types.AttributeValueMemberN{Value: strconv.Itoa(p.Version)},
			"ciphertext": &types.AttributeValueMemberB{Value: p.Ciphertext},
			"createdAt":  &types.AttributeValueMemberS{Value: formatTime(now)},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return conditional(err, "put pepper v%d: %w", p.Version)
}
