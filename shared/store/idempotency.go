package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// idempotencyItem records that a change was made under an Idempotency-Key: pk
// IDEMPOTENCY#<key hash>, written in the change's own transaction only if new, kept
// audit.IdempotencyTTL (TTL removes it). It holds hashes and the change's token id and
// type, never the key or a secret.
type idempotencyItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Request string `dynamodbav:"request"`
	TokenID string `dynamodbav:"tokenId"`
	Type    string `dynamodbav:"type"`
	At      string `dynamodbav:"at"`
	TTL     int64  `dynamodbav:"ttl"`
}

func idempotencyKey(keyHash string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "IDEMPOTENCY#" + keyHash},
		"sk": &types.AttributeValueMemberS{Value: "-"},
	}
}

// idempotencyPut is the put of e's Idempotency-Key record, if it has one.
func (tb *Table) idempotencyPut(e *audit.Event) (*types.TransactWriteItem, error) {
	if e.Idempotency == nil {
		return nil, nil
	}
	av, err := attributevalue.MarshalMap(idempotencyItem{
		PK: "IDEMPOTENCY#" + e.Idempotency.Key, SK: "-", Request: e.Idempotency.Request,
		TokenID: e.TokenID, Type: string(e.Type), At: e.Time.UTC().Format(time.RFC3339Nano),
		TTL: e.Time.Add(audit.IdempotencyTTL).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode idempotency record: %w", err)
	}
	return &types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(tb.Name), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}}, nil
}

// replayed tells, after a transaction that carried events was cancelled, whether it was
// because one of them came with an Idempotency-Key already used: the same request again
// is an *audit.IdempotencyReplayError, another request under the same key a refusal of
// the key. nil: no key was used, the cancellation has another cause.
func (tb *Table) replayed(ctx context.Context, events []audit.Event) error {
	for _, e := range events {
		if e.Idempotency == nil {
			continue
		}
		out, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(tb.Name), Key: idempotencyKey(e.Idempotency.Key), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("read idempotency record: %w", err)
		}
		if out.Item == nil {
			continue
		}
		var it idempotencyItem
		if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
			return fmt.Errorf("decode idempotency record: %w", err)
		}
		if ttl := time.Unix(it.TTL, 0); !ttl.After(e.Time) {
			continue // expired, not yet removed by TTL: the key is free again, but this write lost to it
		}
		if it.Request != e.Idempotency.Request {
			return fault.Invalid("Idempotency-Key", "was used for a different request within the last "+strconv.Itoa(int(audit.IdempotencyTTL.Hours()))+" hours; send a new key with a new request")
		}
		at, _ := time.Parse(time.RFC3339Nano, it.At)
		return &audit.IdempotencyReplayError{TokenID: it.TokenID, Type: audit.EventType(it.Type), At: at}
	}
	return nil
}

// cancelledByReplay is err, or what replayed says when err is a cancelled transaction.
func (tb *Table) cancelledByReplay(ctx context.Context, err error, events []audit.Event) error {
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return nil
	}
	return tb.replayed(ctx, events)
}
