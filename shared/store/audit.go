package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/audit"
	"tokengate/shared/fault"
)

// Audit records live under pk AUDIT#<token id>, sk <time>#<event id>, so a token's
// history is one Query. The same sort key serves the activity log through byCreated
// (gsi3pk AUDIT) and an actor's changes through byOwner (gsi1pk ACTOR#<id>). A record
// a delegated token caused has a copy under pk AUDIT#MINTER#<minter> (a token id has no
// '#'), indexed under gsi1pk ACTOR#<minter> only, so the minter's log shows what it did
// through the tokens it lent. They have no TTL and nothing updates or deletes them; the
// functions' IAM policies deny both on AUDIT# keys.
type auditItem struct {
	PK           string         `dynamodbav:"pk"`
	SK           string         `dynamodbav:"sk"`
	GSI1PK       string         `dynamodbav:"gsi1pk"`
	GSI1SK       string         `dynamodbav:"gsi1sk"`
	GSI3PK       string         `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK       string         `dynamodbav:"gsi3sk,omitempty"`
	ID           string         `dynamodbav:"id"`
	Time         string         `dynamodbav:"time"`
	Version      int64          `dynamodbav:"version"`
	Type         string         `dynamodbav:"type"`
	ActorID      string         `dynamodbav:"actorId"`
	ActorTokenID string         `dynamodbav:"actorTokenId,omitempty"`
	ActorMinter  string         `dynamodbav:"actorMintedBy,omitempty"`
	TokenID      string         `dynamodbav:"tokenId"`
	OwnerID      string         `dynamodbav:"ownerId"`
	Reason       string         `dynamodbav:"reason,omitempty"`
	Changes      []audit.Change `dynamodbav:"changes"`
}

// auditTime sorts as text: fixed width, nanoseconds, UTC.
const auditTime = "2006-01-02T15:04:05.000000000Z"

// auditSK sorts by time, then by the token's version (changes of one token within one
// second), then by the random event id.
func auditSK(e *audit.Event) string {
	return fmt.Sprintf("%s#%010d#%s", e.Time.UTC().Format(auditTime), e.Version, e.ID)
}

func toAuditItem(e *audit.Event) auditItem {
	sk := auditSK(e)
	changes := e.Changes
	if changes == nil {
		changes = []audit.Change{}
	}
	pk := "AUDIT#" + string(e.TokenID)
	switch {
	case e.Type == audit.EventSettingsChange:
		pk = "AUDIT#SETTINGS" // a change of the run-time settings (settings.go)
	case e.TokenID == "":
		pk = "AUDIT#PRINCIPAL#" + e.OwnerID // an action on a principal that concerns no token
	}
	return auditItem{
		PK: pk, SK: sk, GSI1PK: "ACTOR#" + e.ActorID, GSI1SK: sk, GSI3PK: "AUDIT", GSI3SK: sk,
		ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Version: e.Version, Type: string(e.Type), ActorID: e.ActorID, ActorTokenID: e.ActorTokenID,
		ActorMinter: e.ActorMintedBy, TokenID: string(e.TokenID), OwnerID: e.OwnerID, Reason: e.Reason, Changes: changes,
	}
}

func fromAuditItem(it auditItem) *audit.Event {
	t, _ := time.Parse(time.RFC3339Nano, it.Time)
	return &audit.Event{
		ID: it.ID, Time: t, Version: it.Version, Type: audit.EventType(it.Type), ActorID: it.ActorID, ActorTokenID: it.ActorTokenID,
		ActorMintedBy: it.ActorMinter, TokenID: it.TokenID, OwnerID: it.OwnerID, Reason: it.Reason, Changes: it.Changes,
	}
}

// auditItems is the record of e and, when a delegated token caused it, the copy in the
// minter's log.
func auditItems(e *audit.Event) []auditItem {
	it := toAuditItem(e)
	if e.ActorMintedBy == "" || e.ActorMintedBy == e.ActorID {
		return []auditItem{it}
	}
	cp := it
	cp.PK, cp.GSI1PK, cp.GSI3PK, cp.GSI3SK = "AUDIT#MINTER#"+e.ActorMintedBy, "ACTOR#"+e.ActorMintedBy, "", ""
	return []auditItem{it, cp}
}

// auditPuts appends to items the puts of events' audit records (with their minter's
// copies), each only if new: the trail is append-only.
func (tb *Table) auditPuts(items []types.TransactWriteItem, events []audit.Event) ([]types.TransactWriteItem, error) {
	for i := range events {
		once, err := tb.idempotencyPut(&events[i])
		if err != nil {
			return nil, err
		}
		if once != nil {
			items = append(items, *once)
		}
		for _, it := range auditItems(&events[i]) {
			av, err := attributevalue.MarshalMap(it)
			if err != nil {
				return nil, fmt.Errorf("encode audit record: %w", err)
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(tb.Name), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}})
		}
	}
	return items, nil
}

// transact writes the token update, its audit records and the extra items (its change
// feed item) in one transaction.
func (tb *Table) transact(ctx context.Context, update *types.Update, events []audit.Event, extra ...types.TransactWriteItem) error {
	items, err := tb.auditPuts([]types.TransactWriteItem{{Update: update}}, events)
	if err != nil {
		return err
	}
	items = append(items, extra...)
	_, err = tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if replay := tb.cancelledByReplay(ctx, err, events); replay != nil {
		return replay
	}
	if conditionFailed(err) {
		return fault.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("transact write: %w", err)
	}
	return nil
}

// conditionFailed reports whether a transaction was cancelled because a condition of
// one of its items failed.
func conditionFailed(err error) bool {
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for _, r := range cancelled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// Events returns a page of audit records, newest first: one token's history (pk), one
// actor's changes (byOwner) or the whole log (byCreated), within the filter's time range.
func (tb *Table) Events(ctx context.Context, f audit.Filter) ([]*audit.Event, string, error) {
	index, pkName, pkValue, skName := "", "pk", "AUDIT#"+string(f.TokenID), "sk"
	switch {
	case f.TokenID != "":
	case f.ActorID != "":
		index, pkName, pkValue, skName = IndexByOwner, "gsi1pk", "ACTOR#"+f.ActorID, "gsi1sk"
	default:
		index, pkName, pkValue, skName = IndexByCreated, "gsi3pk", "AUDIT", "gsi3sk"
	}
	start, err := decodeAuditCursor(f.Cursor, pkName, pkValue, skName)
	if err != nil {
		return nil, "", err
	}
	lo, hi := "0", "9"
	if !f.Since.IsZero() {
		lo = f.Since.UTC().Format(auditTime)
	}
	if !f.Until.IsZero() {
		hi = f.Until.UTC().Format(auditTime)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var page []*audit.Event
	for q := 0; q < maxListQueries && len(page) < limit; q++ {
		in := &dynamodb.QueryInput{
			TableName:                aws.String(tb.Name),
			KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
			ExpressionAttributeNames: map[string]string{"#pk": pkName, "#sk": skName},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: pkValue},
				":lo": &types.AttributeValueMemberS{Value: lo},
				":hi": &types.AttributeValueMemberS{Value: hi},
			},
			ScanIndexForward:  aws.Bool(false),
			Limit:             aws.Int32(int32(limit - len(page))),
			ExclusiveStartKey: start,
		}
		if index != "" {
			in.IndexName = aws.String(index)
		}
		out, err := tb.Client.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("query audit: %w", err)
		}
		for _, av := range out.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				// Bad stored data never stops a listing (unreadable.go).
				slog.WarnContext(ctx, "stored audit record does not decode: skipped", "pk", attrS(av, "pk"), "sk", attrS(av, "sk"), "err", err)
				continue
			}
			if e := fromAuditItem(it); f.Match(e) {
				page = append(page, e)
			}
		}
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	next, err := encodeCursor(start)
	return page, next, err
}

// decodeAuditCursor reads a cursor of an audit query: the base table's key has only pk
// and sk, an index's key adds its own two attributes.
func decodeAuditCursor(c, pkName, pkValue, skName string) (map[string]types.AttributeValue, error) {
	if pkName == "pk" {
		k, err := decodeKey(c)
		if err != nil || k == nil {
			return k, err
		}
		if s, _ := k["pk"].(*types.AttributeValueMemberS); s == nil || s.Value != pkValue || len(k) != 2 || k["sk"] == nil {
			return nil, errBadCursor
		}
		return k, nil
	}
	return decodeCursor(c, pkName, pkValue)
}
