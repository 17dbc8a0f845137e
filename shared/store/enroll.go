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

	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/token"
)

var _ principal.Enrollments = (*Table)(nil)

// Enrollment secrets live under pk ENROLL#<keyed hash, hex>, sk ENROLL: only the hash,
// never the secret. TTL removes them a day after they expire. The item pk
// ENROLLFOR#<principal id>, sk ENROLL names the principal's current enrollment (its hash):
// only that one can be exchanged, so a new one supersedes every earlier one.

func enrollForKey(principalID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ENROLLFOR#" + principalID},
		"sk": &types.AttributeValueMemberS{Value: "ENROLL"},
	}
}

func enrollKey(hash []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "ENROLL#" + hex.EncodeToString(hash)},
		"sk": &types.AttributeValueMemberS{Value: "ENROLL"},
	}
}

// PutEnrollment stores a new enrollment, makes it its principal's current one and writes
// its audit record, in one transaction.
func (tb *Table) PutEnrollment(ctx context.Context, e principal.Enrollment, ev token.Event) error {
	ttl := &types.AttributeValueMemberN{Value: strconv.FormatInt(e.ExpiresAt.Add(24*time.Hour).Unix(), 10)}
	item := enrollKey(e.Hash)
	item["principalId"] = &types.AttributeValueMemberS{Value: e.PrincipalID}
	item["createdBy"] = &types.AttributeValueMemberS{Value: e.CreatedBy}
	item["pepperVersion"] = &types.AttributeValueMemberN{Value: strconv.Itoa(e.PepperVersion)}
	item["createdAt"] = &types.AttributeValueMemberS{Value: formatTime(e.CreatedAt)}
	item["expiresAt"] = &types.AttributeValueMemberS{Value: formatTime(e.ExpiresAt)}
	item["ttl"] = ttl
	current := enrollForKey(e.PrincipalID)
	current["current"] = &types.AttributeValueMemberS{Value: hex.EncodeToString(e.Hash)}
	current["ttl"] = ttl
	items, err := tb.auditPuts([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(tb.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: aws.String(tb.Name), Item: current}},
	}, []token.Event{ev})
	if err != nil {
		return err
	}
	_, err = tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		return fault.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put enrollment: %w", err)
	}
	return nil
}

// ConsumeEnrollment marks an enrollment used in one transaction: it must exist, be
// unused, not expired at now and still its principal's current one. Two exchanges
// racing: one wins, the other gets fault.ErrNotFound, as does a superseded one.
func (tb *Table) ConsumeEnrollment(ctx context.Context, hash []byte, now time.Time) (*principal.Enrollment, error) {
	got, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tb.Name), Key: enrollKey(hash), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get enrollment: %w", err)
	}
	if got.Item == nil {
		return nil, fault.ErrNotFound
	}
	str := func(k string) string {
		s, _ := got.Item[k].(*types.AttributeValueMemberS)
		if s == nil {
			return ""
		}
		return s.Value
	}
	_, err = tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(tb.Name), Key: enrollKey(hash),
			UpdateExpression:         aws.String("SET #usedAt = :now"),
			ConditionExpression:      aws.String("attribute_exists(pk) AND attribute_not_exists(#usedAt) AND #expiresAt > :now"),
			ExpressionAttributeNames: map[string]string{"#usedAt": "usedAt", "#expiresAt": "expiresAt"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": &types.AttributeValueMemberS{Value: formatTime(now)},
			},
		}},
		{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(tb.Name), Key: enrollForKey(str("principalId")),
			ConditionExpression:       aws.String("#current = :hash"),
			ExpressionAttributeNames:  map[string]string{"#current": "current"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":hash": &types.AttributeValueMemberS{Value: hex.EncodeToString(hash)}},
		}},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		return nil, fault.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("consume enrollment: %w", err)
	}
	return &principal.Enrollment{Hash: hash, PrincipalID: str("principalId"), CreatedBy: str("createdBy"),
		CreatedAt: parseTime(str("createdAt")), ExpiresAt: parseTime(str("expiresAt"))}, nil
}
