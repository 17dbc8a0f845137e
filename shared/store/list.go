package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// maxListQueries bounds the Query calls of one List page when a filter drops most items:
// the page then comes back short, with a cursor to go on.
const maxListQueries = 10

// List queries byOwner (one owner) or byCreated (every owner), newest first. Status and
// expiry filters are applied here, since "expired" is derived from the clock; each Query
// asks for at most the items still missing, so the cursor is always exact.
func (tb *Table) List(ctx context.Context, f token.Filter) ([]*token.Token, string, error) {
	index, pkName, pkValue := IndexByCreated, "gsi3pk", "TOKENS"
	if f.OwnerID != "" {
		index, pkName, pkValue = IndexByOwner, "gsi1pk", "OWNER#"+f.OwnerID
	}
	start, err := decodeCursor(f.Cursor, pkName, pkValue)
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var page []*token.Token
	for q := 0; q < maxListQueries && len(page) < limit; q++ {
		out, err := tb.Client.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(tb.Name), IndexName: aws.String(index),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": pkName},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pkValue}},
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(limit - len(page))),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("query %s: %w", index, err)
		}
		toks, _ := decodeTokens(ctx, "list "+index, out.Items)
		for _, t := range toks {
			if f.Match(t) {
				page = append(page, t)
			}
		}
		start = out.LastEvaluatedKey
		if start == nil {
			break
		}
	}
	next, err := encodeCursor(start)
	return page, next, err
}

// A cursor is the last evaluated key, base64url JSON of its string attributes. It is
// checked against the query it continues, so it cannot reach into another partition.
func encodeCursor(k map[string]types.AttributeValue) (string, error) {
	if k == nil {
		return "", nil
	}
	m := map[string]string{}
	for name, v := range k {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("cursor: key %s is not a string", name)
		}
		m[name] = s.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// errBadCursor: a cursor that is not one of this listing.
var errBadCursor = fault.Invalid("cursor", "is not a cursor of this listing; use nextCursor from the previous page")

// decodeKey reads a cursor back into a key, checking only its encoding.
func decodeKey(c string) (map[string]types.AttributeValue, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 2048 {
		return nil, errBadCursor
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errBadCursor
	}
	k := map[string]types.AttributeValue{}
	for name, v := range m {
		if v == "" {
			return nil, errBadCursor
		}
		k[name] = &types.AttributeValueMemberS{Value: v}
	}
	return k, nil
}

// decodeCursor reads the cursor of a query on an index whose partition key pkName must be
// pkValue: a cursor cannot reach into another partition (another owner's tokens).
func decodeCursor(c, pkName, pkValue string) (map[string]types.AttributeValue, error) {
	k, err := decodeKey(c)
	if err != nil || k == nil {
		return k, err
	}
	skName := pkName[:len(pkName)-2] + "sk"
	if s, _ := k[pkName].(*types.AttributeValueMemberS); s == nil || s.Value != pkValue || len(k) != 4 {
		return nil, errBadCursor
	}
	for _, n := range []string{"pk", "sk", skName} {
		if k[n] == nil {
			return nil, errBadCursor
		}
	}
	return k, nil
}

// Pending returns the tokens awaiting approval, oldest first, from the sparse byExpiry
// partition PENDING (a pending token is never in the expiry buckets: only active ones are).
func (tb *Table) Pending(ctx context.Context, limit int, cursor string) ([]*token.Token, string, error) {
	start, err := decodeCursor(cursor, "gsi2pk", "PENDING")
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 50
	}
	out, err := tb.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(tb.Name), IndexName: aws.String(IndexByExpiry),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "PENDING"}},
		Limit:                     aws.Int32(int32(limit)), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("query pending: %w", err)
	}
	page := make([]*token.Token, 0, len(out.Items))
	toks, _ := decodeTokens(ctx, "pending", out.Items)
	for _, t := range toks {
		if t.Status == token.StatusPending {
			page = append(page, t)
		}
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	return page, next, err
}
