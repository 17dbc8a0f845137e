package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/restriction"
)

// leaseTries bounds LeaseRate's writes: the lease asked for, then the remainder.
const leaseTries = 3

// LeaseRate leases up to n requests of token id's window (starting at window, per long)
// for one authorizer instance, on the item TakeRate counts in (pk RATE#<id>, sk the
// window start): one conditional UpdateItem adds n to the count while the count stays
// within limit. When fewer than n are left it reads the count from the failed condition
// (ReturnValuesOnConditionCheckFailure) and leases the remainder in a second write; 0
// when the budget is spent. What an instance leases and never spends is lost: the count
// never exceeds the limit, across every instance and TakeRate alike.
func (tb *Table) LeaseRate(ctx context.Context, id restriction.Key, window time.Time, per time.Duration, limit, n int) (int, error) {
	n = min(n, limit)
	for try := 0; try < leaseTries && n > 0; try++ {
		_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(tb.Name),
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "RATE#" + string(id)},
				"sk": &types.AttributeValueMemberS{Value: strconv.FormatInt(window.Unix(), 10)},
			},
			UpdateExpression:         aws.String("ADD #n :n SET #ttl = :ttl"),
			ConditionExpression:      aws.String("attribute_not_exists(#n) OR #n <= :most"),
			ExpressionAttributeNames: map[string]string{"#n": "count", "#ttl": "ttl"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":n":    &types.AttributeValueMemberN{Value: strconv.Itoa(n)},
				":most": &types.AttributeValueMemberN{Value: strconv.Itoa(limit - n)},
				":ttl":  &types.AttributeValueMemberN{Value: strconv.FormatInt(window.Add(per+time.Hour).Unix(), 10)},
			},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		var ccf *types.ConditionalCheckFailedException
		switch {
		case err == nil:
			return n, nil
		case !errors.As(err, &ccf):
			return 0, fmt.Errorf("rate limit lease %s: %w", id, err)
		}
		left := n / 2 // no count returned: ask for less
		if c, ok := ccf.Item["count"].(*types.AttributeValueMemberN); ok {
			used, err := strconv.Atoi(c.Value)
			if err != nil {
				return 0, fmt.Errorf("rate limit lease %s: count %q: %w", id, c.Value, err)
			}
			left = limit - used
		}
		n = min(n-1, left)
	}
	return 0, nil
}
