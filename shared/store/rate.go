package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"tokengate/shared/restriction"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TakeRate counts one request of key (a token, or a source address on a route) in the
// fixed window that starts at window and lasts per, and reports whether it was within
// limit. The count lives in an item shared by every authorizer instance (pk RATE#<key>,
// sk the window start), added to only
// while it is below the limit: N concurrent requests against a limit L allow exactly L.
// TTL removes the item an hour after its window ends.
func (tb *Table) TakeRate(ctx context.Context, key restriction.Key, window time.Time, per time.Duration, limit int) (bool, error) {
	_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "RATE#" + string(key)},
			"sk": &types.AttributeValueMemberS{Value: strconv.FormatInt(window.Unix(), 10)},
		},
		UpdateExpression:         aws.String("ADD #n :one SET #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n < :limit"),
		ExpressionAttributeNames: map[string]string{"#n": "count", "#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":limit": &types.AttributeValueMemberN{Value: strconv.Itoa(limit)},
			":ttl":   &types.AttributeValueMemberN{Value: strconv.FormatInt(window.Add(per+time.Hour).Unix(), 10)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rate limit %s: %w", key, err)
	}
	return true, nil
}
