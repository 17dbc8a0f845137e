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

	"tokengate/shared/audit"
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

// PutEnrollment stores a new enrollment, makes it its principal's current one, adds its
// sender to the principal's vouchedBy and writes its audit record, in one transaction.
// The ADD leaves the principal's version alone (no If-Match or token create fails for
// it) and is conditioned on the principal still being the incarnation the enrollment was
// made for, so it never creates an item: a principal gone or created anew meanwhile is
// fault.ErrConflict, and nothing is written.
func (tb *Table) PutEnrollment(ctx context.Context, e principal.Enrollment, ev audit.Event) error {
	ttl := &types.AttributeValueMemberN{Value: strconv.FormatInt(e.ExpiresAt.Add(24*time.Hour).Unix(), 10)}
	item := enrollKey(e.Hash)
	item["principalId"] = &types.AttributeValueMemberS{Value: e.PrincipalID}
	item["createdBy"] = &types.AttributeValueMemberS{Value: e.CreatedBy}
	item["pepperVersion"] = &types.AttributeValueMemberN{Value: strconv.Itoa(e.PepperVersion)}
	item["createdAt"] = &types.AttributeValueMemberS{Value: formatTime(e.CreatedAt)}
	item["expiresAt"] = &types.AttributeValueMemberS{Value: formatTime(e.ExpiresAt)}
	item["fingerprint"] = &types.AttributeValueMemberS{Value: e.Fingerprint}
	item["ttl"] = ttl
	current := enrollForKey(e.PrincipalID)
	current["current"] = &types.AttributeValueMemberS{Value: hex.EncodeToString(e.Hash)}
	current["ttl"] = ttl
	items, err := tb.auditPuts([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(tb.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Put: &types.Put{TableName: aws.String(tb.Name), Item: current}},
		{Update: vouch(tb.Name, e.PrincipalID, e.Incarnation, e.CreatedBy)},
	}, []audit.Event{ev})
	if err != nil {
		return err
	}
	// Two sends to one principal touch the same items: a TransactionConflict wrote
	// nothing and is retried.
	err = retryConflicts(ctx, func() error {
		_, err := tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		return fault.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put enrollment: %w", err)
	}
	return nil
}

// vouch adds who to the vouchedBy set of principal id, if it is still incarnation inc.
func vouch(table, id, inc, who string) *types.Update {
	u := &types.Update{
		TableName: aws.String(table), Key: principalKey(id),
		UpdateExpression:         aws.String("ADD #vouchedBy :who"),
		ConditionExpression:      aws.String("#id = :id AND #inc = :inc"),
		ExpressionAttributeNames: map[string]string{"#vouchedBy": "vouchedBy", "#id": "id", "#inc": "incarnation"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":who": &types.AttributeValueMemberSS{Value: []string{who}},
			":id":  &types.AttributeValueMemberS{Value: id},
			":inc": &types.AttributeValueMemberS{Value: inc},
		},
	}
	if inc == "" { // a principal written before incarnations existed
		u.ConditionExpression = aws.String("#id = :id AND attribute_not_exists(#inc)")
		delete(u.ExpressionAttributeValues, ":inc")
	}
	return u
}

// GetEnrollment returns the enrollment with this keyed hash, used or not; fault.ErrNotFound
// when there is none.
func (tb *Table) GetEnrollment(ctx context.Context, hash []byte) (*principal.Enrollment, error) {
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
	ver := 0
	if n, _ := got.Item["pepperVersion"].(*types.AttributeValueMemberN); n != nil {
		ver, _ = strconv.Atoi(n.Value)
	}
	return &principal.Enrollment{Hash: hash, PepperVersion: ver, PrincipalID: str("principalId"), CreatedBy: str("createdBy"),
		CreatedAt: parseTime(str("createdAt")), ExpiresAt: parseTime(str("expiresAt")), UsedAt: parseTime(str("usedAt")),
		Fingerprint: str("fingerprint")}, nil
}

// ConsumeEnrollment marks e used in one transaction: it must be unused, not expired at
// now and still its principal's current one, and the principal still as the caller
// checked it (owner: same id, incarnation and version). Two exchanges racing: one wins,
// the other gets fault.ErrNotFound, as does a superseded one or a principal changed
// meanwhile; nothing is written then.
func (tb *Table) ConsumeEnrollment(ctx context.Context, e *principal.Enrollment, owner token.OwnerCheck, now time.Time) error {
	_, err := tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(tb.Name), Key: enrollKey(e.Hash),
			UpdateExpression:         aws.String("SET #usedAt = :now"),
			ConditionExpression:      aws.String("attribute_exists(pk) AND attribute_not_exists(#usedAt) AND #expiresAt > :now"),
			ExpressionAttributeNames: map[string]string{"#usedAt": "usedAt", "#expiresAt": "expiresAt"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": &types.AttributeValueMemberS{Value: formatTime(now)},
			},
		}},
		{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(tb.Name), Key: enrollForKey(e.PrincipalID),
			ConditionExpression:       aws.String("#current = :hash"),
			ExpressionAttributeNames:  map[string]string{"#current": "current"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":hash": &types.AttributeValueMemberS{Value: hex.EncodeToString(e.Hash)}},
		}},
		{ConditionCheck: ownerCondition(tb.Name, owner)},
	}})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		return fault.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("consume enrollment: %w", err)
	}
	return nil
}
