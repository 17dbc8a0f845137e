package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/token"
)

var _ token.ExpiryStore = (*Table)(nil)

// skUpper closes a byExpiry sort key range on a second: gsi2sk is "<expiresAt>#<id>",
// ids are base62, and '~' sorts after every base62 character.
const skUpper = "#~"

// Expiring returns the active permanent tokens with after < expiresAt <= until, soonest
// first. It queries the sparse byExpiry index, one partition per UTC day from after to
// until, with the sort key bounding the first and the last day, so it reads the tokens
// it returns and nothing else: its cost grows with the tokens expiring, not the table.
// The index is eventually consistent: a token changed a moment ago may come back as it
// was, and callers that act on a token check it again (ClaimNotice does). Items that do
// not decode are skipped and named in a *token.SkippedError returned with the rest.
func (tb *Table) Expiring(ctx context.Context, after, until time.Time) ([]*token.Token, error) {
	// Stored times have whole seconds: expiresAt > after is expiresAt >= the next second.
	lo := after.UTC().Truncate(time.Second).Add(time.Second)
	hi := until.UTC().Truncate(time.Second)
	if hi.Before(lo) {
		return nil, nil
	}
	var (
		out     []*token.Token
		skipped []token.ID
	)
	last := dayOf(hi)
	for day := dayOf(lo); !day.After(last); day = day.AddDate(0, 0, 1) {
		cond := "gsi2pk = :pk"
		values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: ExpiryBucket(day)}}
		first, final := day.Equal(dayOf(lo)), day.Equal(last)
		switch {
		case first && final:
			cond += " AND gsi2sk BETWEEN :lo AND :hi"
		case first:
			cond += " AND gsi2sk >= :lo"
		case final:
			cond += " AND gsi2sk <= :hi"
		}
		if first {
			values[":lo"] = &types.AttributeValueMemberS{Value: formatTime(lo)}
		}
		if final {
			values[":hi"] = &types.AttributeValueMemberS{Value: formatTime(hi) + skUpper}
		}
		p := dynamodb.NewQueryPaginator(tb.Client, &dynamodb.QueryInput{
			TableName: aws.String(tb.Name), IndexName: aws.String(IndexByExpiry),
			KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query %s %s: %w", IndexByExpiry, ExpiryBucket(day), err)
			}
			toks, bad := decodeTokens(ctx, "expiring "+ExpiryBucket(day), page.Items)
			out = append(out, toks...)
			skipped = append(skipped, bad...)
		}
	}
	if len(skipped) > 0 {
		return out, &token.SkippedError{IDs: skipped}
	}
	return out, nil
}

func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ClaimNotice records on the token item that its expiry notice is being sent at at,
// unless one was sent after since (at minus the backoff) or the token is no longer what
// the index said: an active permanent token expiring at t.ExpiresAt. It is one conditional
// UpdateItem, so of two runs that overlap only one wins a token. ok is false when the
// claim was not won; prev is the lastNotifiedAt it replaced, for ReleaseNotice.
func (tb *Table) ClaimNotice(ctx context.Context, t *token.Token, at, since time.Time) (prev time.Time, ok bool, err error) {
	out, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(t.ID),
		UpdateExpression: aws.String("SET lastNotifiedAt = :at"),
		ConditionExpression: aws.String("attribute_exists(pk) AND #status = :active AND #type = :permanent AND expiresAt = :expiresAt" +
			" AND (attribute_not_exists(lastNotifiedAt) OR lastNotifiedAt <= :since)"),
		ExpressionAttributeNames: map[string]string{"#status": "status", "#type": "type"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at":        &types.AttributeValueMemberS{Value: formatTime(at)},
			":since":     &types.AttributeValueMemberS{Value: formatTime(since)},
			":active":    &types.AttributeValueMemberS{Value: string(token.StatusActive)},
			":permanent": &types.AttributeValueMemberS{Value: string(token.TypePermanent)},
			":expiresAt": &types.AttributeValueMemberS{Value: formatTime(t.ExpiresAt)},
		},
		ReturnValues: types.ReturnValueUpdatedOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("claim notice of %s: %w", t.ID, err)
	}
	if s, ok := out.Attributes["lastNotifiedAt"].(*types.AttributeValueMemberS); ok {
		prev = parseTime(s.Value)
	}
	return prev, true, nil
}

// ReleaseNotice undoes a claim whose notice could not be sent, so that a later run
// retries: lastNotifiedAt goes back to prev (removed when zero), but only while it is
// still at, the claim's own time; a claim of a later run is left alone.
func (tb *Table) ReleaseNotice(ctx context.Context, id token.ID, at, prev time.Time) error {
	update := "REMOVE lastNotifiedAt"
	values := map[string]types.AttributeValue{":at": &types.AttributeValueMemberS{Value: formatTime(at)}}
	if !prev.IsZero() {
		update = "SET lastNotifiedAt = :prev"
		values[":prev"] = &types.AttributeValueMemberS{Value: formatTime(prev)}
	}
	_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(id),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("lastNotifiedAt = :at"),
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release notice of %s: %w", id, err)
	}
	return nil
}

// ClaimReuseNotice marks the mail about t's last recorded reuse as sent, unless it was
// already claimed or another reuse was recorded since t was read; ok reports whether
// this call won. prev is what it replaced (zero: no reuse mail ever).
func (tb *Table) ClaimReuseNotice(ctx context.Context, t *token.Token) (prev time.Time, ok bool, err error) {
	out, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(t.ID),
		UpdateExpression:          aws.String("SET reuseNotifiedAt = :d"),
		ConditionExpression:       aws.String("reuseDetectedAt = :d AND (attribute_not_exists(reuseNotifiedAt) OR reuseNotifiedAt < :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": &types.AttributeValueMemberS{Value: formatTime(t.ReuseDetectedAt)}},
		ReturnValues:              types.ReturnValueUpdatedOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("claim reuse notice of %s: %w", t.ID, err)
	}
	if s, ok := out.Attributes["reuseNotifiedAt"].(*types.AttributeValueMemberS); ok {
		prev = parseTime(s.Value)
	}
	return prev, true, nil
}

// ReleaseReuseNotice undoes a claim of the mail about the reuse recorded at detected,
// so that a later run retries: reuseNotifiedAt goes back to prev (removed when zero),
// only while the claim still stands.
func (tb *Table) ReleaseReuseNotice(ctx context.Context, id token.ID, detected, prev time.Time) error {
	update := "REMOVE reuseNotifiedAt"
	values := map[string]types.AttributeValue{":d": &types.AttributeValueMemberS{Value: formatTime(detected)}}
	if !prev.IsZero() {
		update = "SET reuseNotifiedAt = :prev"
		values[":prev"] = &types.AttributeValueMemberS{Value: formatTime(prev)}
	}
	_, err := tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(id),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String("reuseNotifiedAt = :d"),
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("release reuse notice of %s: %w", id, err)
	}
	return nil
}
