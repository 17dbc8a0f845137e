package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// A token's uses of one UTC day are the number attribute dayUsesPrefix + the day
// (uses2026-12-03), at the top of the item: DynamoDB's ADD works on top-level attributes
// only, not on a path into a map. The flush that adds to useCount adds to its day in the
// same UpdateItem, and removes the days keptUseDays+1 to keptUseDays+prunedUseDays
// before it, so an item holds at most keptUseDays+prunedUseDays of them, and a day is
// gone after any flush in the prunedUseDays days after it left the window.
const (
	dayUsesPrefix = "uses"
	keptUseDays   = 30
	prunedUseDays = 15
)

// dayUsesAttr is the attribute of the uses of at's UTC day.
func dayUsesAttr(at time.Time) string { return dayUsesPrefix + at.UTC().Format(token.DayFormat) }

// usesByDay collects the day attributes of a token item, keyed by day; one that is not
// a day's count (a name that is no date, a value that is no whole number) is left out.
func usesByDay(av map[string]types.AttributeValue) map[string]int64 {
	var out map[string]int64
	for name, v := range av {
		day, ok := strings.CutPrefix(name, dayUsesPrefix)
		if !ok {
			continue
		}
		if _, err := time.Parse(token.DayFormat, day); err != nil {
			continue
		}
		num, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(num.Value, 10, 64)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]int64{}
		}
		out[day] = n
	}
	return out
}

// decodeToken turns a stored token item into a token: its attributes through tokenItem
// and fromItem, its day attributes into UsesByDay. Every read of token items uses it.
func decodeToken(av map[string]types.AttributeValue) (*token.Token, error) {
	var it tokenItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("decode token item: %w", err)
	}
	t := fromItem(it)
	t.UsesByDay = usesByDay(av)
	return t, nil
}

// RecordUse adds n uses to a token, and to the uses of at's UTC day, sets its last use
// and removes the day attributes that have left the window, in one atomic UpdateItem
// that never creates an item (a token deleted by TTL stays deleted).
func (tb *Table) RecordUse(ctx context.Context, id token.ID, n int64, at time.Time, ip string) error {
	names := map[string]string{"#day": dayUsesAttr(at)}
	values := map[string]types.AttributeValue{
		":n":  &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)},
		":at": &types.AttributeValueMemberS{Value: formatTime(at)},
	}
	update := "ADD useCount :n, #day :n SET lastUsedAt = :at"
	if ip != "" {
		values[":ip"] = &types.AttributeValueMemberS{Value: ip}
		update += ", lastUsedIp = :ip"
	}
	removes := make([]string, 0, prunedUseDays)
	for ago := keptUseDays + 1; ago <= keptUseDays+prunedUseDays; ago++ {
		name := "#old" + strconv.Itoa(ago)
		names[name] = dayUsesAttr(at.UTC().AddDate(0, 0, -ago))
		removes = append(removes, name)
	}
	update += " REMOVE " + strings.Join(removes, ", ")
	_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(id),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fault.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("record use of %s: %w", id, err)
	}
	return nil
}

// staleUseDays are the day attributes among days (a token's UsesByDay as read) more
// than keptUseDays before at: a change of the token (Put) removes them, so that a day no
// flush reached in the prunedUseDays after it left the window does not stay for good.
// Only today's day is ever added to, so removing older ones loses no use.
func staleUseDays(days map[string]int64, at time.Time) []string {
	if at.IsZero() {
		return nil
	}
	oldest := at.UTC().AddDate(0, 0, -keptUseDays).Format(token.DayFormat)
	var out []string
	for day := range days {
		if day < oldest {
			out = append(out, dayUsesPrefix+day)
		}
	}
	sort.Strings(out)
	return out
}
