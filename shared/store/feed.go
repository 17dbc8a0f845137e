package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/fault"
)

// The change feed (docs/table-design.md, "Change feed"): every write that changes a
// token or a principal puts, in the same TransactWriteItems, one small item saying which
// one changed and when, so that each authorizer instance finds by time what to drop from
// its caches with one Query a second. Items live under pk FEED#<bucket start, Unix
// seconds>, one partition per FeedBucket, sk <Unix ms, 13 digits>#<8 random hex>, with
// kind (token, principal) and id; TTL removes them after FeedTTL. The stamp is the
// writer's clock at each attempt of the transaction.
const (
	FeedBucket = 10 * time.Minute
	FeedTTL    = 15 * time.Minute
)

// The kinds of feed items (authorizer.FeedToken, authorizer.FeedPrincipal).
const (
	FeedToken     = "token"
	FeedPrincipal = "principal"
)

// feedNow is the writers' clock.
var feedNow = time.Now

// FeedPartition is the pk of the bucket at holds.
func FeedPartition(at time.Time) string { return "FEED#" + strconv.FormatInt(feedBucketOf(at), 10) }

// feedBucketOf is the start of at's bucket, Unix seconds.
func feedBucketOf(at time.Time) int64 {
	s, b := at.Unix(), int64(FeedBucket/time.Second)
	return s - (s%b+b)%b
}

// feedSort is the sk of a change at at, before its random tail.
func feedSort(at time.Time) string { return fmt.Sprintf("%013d", at.UnixMilli()) }

// feedPut is the Put of the feed item of a change of kind to id, stamped now.
func (tb *Table) feedPut(kind, id string) (types.TransactWriteItem, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("feed item: %w", err)
	}
	at := feedNow()
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(tb.Name),
		Item: map[string]types.AttributeValue{
			"pk":   &types.AttributeValueMemberS{Value: FeedPartition(at)},
			"sk":   &types.AttributeValueMemberS{Value: feedSort(at) + "#" + hex.EncodeToString(b)},
			"kind": &types.AttributeValueMemberS{Value: kind},
			"id":   &types.AttributeValueMemberS{Value: id},
			"ttl":  &types.AttributeValueMemberN{Value: strconv.FormatInt(at.Add(FeedTTL).Unix(), 10)},
		},
	}}, nil
}

// withFeed writes change and the feed item of kind and id in one TransactWriteItems,
// again a few times while only a concurrent transaction stood in the way; the change's
// failed condition is fault.ErrConflict, as the single write's was.
func (tb *Table) withFeed(ctx context.Context, change types.TransactWriteItem, kind, id string) error {
	err := retryConflicts(ctx, func() error {
		feed, err := tb.feedPut(kind, id)
		if err != nil {
			return err
		}
		_, err = tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{change, feed}})
		return err
	})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) && len(cancelled.CancellationReasons) > 0 &&
		aws.ToString(cancelled.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return fault.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("transact write: %w", err)
	}
	return nil
}

// ReadFeed calls each for every change stamped at or after since, in the buckets from
// since's to until's: one strongly consistent Query per bucket (two when the range
// crosses a bucket's end), paged.
func (tb *Table) ReadFeed(ctx context.Context, since, until time.Time, each func(kind, id string, at time.Time)) error {
	from := feedSort(since)
	for b := feedBucketOf(since); b <= feedBucketOf(until); b += int64(FeedBucket / time.Second) {
		pk := "FEED#" + strconv.FormatInt(b, 10)
		in := &dynamodb.QueryInput{
			TableName:                aws.String(tb.Name),
			KeyConditionExpression:   aws.String("pk = :pk AND sk >= :from"),
			ProjectionExpression:     aws.String("sk, #kind, #id"),
			ExpressionAttributeNames: map[string]string{"#kind": "kind", "#id": "id"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk":   &types.AttributeValueMemberS{Value: pk},
				":from": &types.AttributeValueMemberS{Value: from},
			},
			ConsistentRead: aws.Bool(true),
		}
		for {
			out, err := tb.Client.Query(ctx, in)
			if err != nil {
				return fmt.Errorf("read change feed: %w", err)
			}
			for _, it := range out.Items {
				sk, _ := it["sk"].(*types.AttributeValueMemberS)
				kind, _ := it["kind"].(*types.AttributeValueMemberS)
				id, _ := it["id"].(*types.AttributeValueMemberS)
				if sk == nil || kind == nil || id == nil || len(sk.Value) < 13 {
					continue
				}
				ms, _ := strconv.ParseInt(sk.Value[:13], 10, 64)
				each(kind.Value, id.Value, time.UnixMilli(ms))
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return nil
}
