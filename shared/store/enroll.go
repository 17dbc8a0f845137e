package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/principal"
	"tokengate/shared/token"
)

var _ principal.Enrollments = (*Table)(nil)

// Enrollment secrets live under pk ENROLL#<keyed hash, hex>, sk ENROLL: only the hash,
// never the secret. TTL removes them a day after they expire.

func enrollKey(hash []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ENROLL#" + hex.EncodeToString(hash)},
		"sk": &types.AttributeValueMemberS{Value: "ENROLL"},
	}
}

// PutEnrollment stores a new enrollment.
func (tb *Table) PutEnrollment(ctx context.Context, e principal.Enrollment) error {
	item := enrollKey(e.Hash)
	item["principalId"] = &types.AttributeValueMemberS{Value: e.PrincipalID}
	item["createdBy"] = &types.AttributeValueMemberS{Value: e.CreatedBy}
	item["pepperVersion"] = &types.AttributeValueMemberN{Value: strconv.Itoa(e.PepperVersion)}
	item["createdAt"] = &types.AttributeValueMemberS{Value: formatTime(e.CreatedAt)}
	item["expiresAt"] = &types.AttributeValueMemberS{Value: formatTime(e.ExpiresAt)}
	item["ttl"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.ExpiresAt.Add(24*time.Hour).Unix(), 10)}
	_, err := tb.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(tb.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	return conditional(err, "put enrollment: %w")
}

// ConsumeEnrollment marks an enrollment used in one conditional UpdateItem: it must
// exist, be unused and not expired at now. Two exchanges racing: one wins, the other
// gets token.ErrNotFound.
func (tb *Table) ConsumeEnrollment(ctx context.Context, hash []byte, now time.Time) (*principal.Enrollment, error) {
	out, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: enrollKey(hash),
		UpdateExpression:         aws.String("SET #usedAt = :now"),
		ConditionExpression:      aws.String("attribute_exists(pk) AND attribute_not_exists(#usedAt) AND #expiresAt > :now"),
		ExpressionAttributeNames: map[string]string{"#usedAt": "usedAt", "#expiresAt": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberS{Value: formatTime(now)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil, token.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("consume enrollment: %w", err)
	}
	str := func(k string) string {
		s, _ := out.Attributes[k].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	return &principal.Enrollment{Hash: hash, PrincipalID: str("principalId"), CreatedBy: str("createdBy"),
		CreatedAt: parseTime(str("createdAt")), ExpiresAt: parseTime(str("expiresAt"))}, nil
}
