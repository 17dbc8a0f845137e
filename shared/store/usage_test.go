package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/fault"
	"tokengate/shared/token"
)

// dayAttrs are the day attributes (uses<yyyy-mm-dd>) of a stored token item, read raw.
func dayAttrs(t *testing.T, client *dynamodb.Client, table string, id token.ID) map[string]string {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(id)},
			"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
		}})
	require.NoError(t, err)
	got := map[string]string{}
	for name, v := range out.Item {
		if strings.HasPrefix(name, "uses") {
			got[name] = v.(*types.AttributeValueMemberN).Value
		}
	}
	return got
}

// TestRecordUseByDay: a flush adds its uses to useCount and to its UTC day's attribute in
// the same UpdateItem; a later Put keeps them; a flush removes the days 31 to 45 before
// its own; every read decodes them into UsesByDay.
func TestRecordUseByDay(t *testing.T) {
	ctx := context.Background()
	tb := localtest.Table(t)
	tok := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "usage", time.Time{}))
	today := time.Now().UTC()
	day := func(ago int) string { return today.AddDate(0, 0, -ago).Format(token.DayFormat) }
	at := func(ago int) time.Time { return today.AddDate(0, 0, -ago) }

	t.Run("two days, two attributes, one count", func(t *testing.T) {
		require.NoError(t, tb.RecordUse(ctx, tok.ID, 3, at(1), "192.0.2.1"))
		require.NoError(t, tb.RecordUse(ctx, tok.ID, 2, at(0), ""))
		require.NoError(t, tb.RecordUse(ctx, tok.ID, 4, at(0), "192.0.2.2"))
		require.Equal(t, map[string]string{"uses" + day(1): "3", "uses" + day(0): "6"}, dayAttrs(t, tb.Client, tb.Name, tok.ID))
		got, err := tb.Get(ctx, tok.ID)
		require.NoError(t, err)
		require.EqualValues(t, 9, got.UseCount)
		require.Equal(t, map[string]int64{day(1): 3, day(0): 6}, got.UsesByDay)
		require.Empty(t, got.Unreadable)
	})

	t.Run("a Put keeps them", func(t *testing.T) {
		got, err := tb.Get(ctx, tok.ID)
		require.NoError(t, err)
		got.UsesByDay = map[string]int64{day(0): 1000, day(2): 1} // never written by Put
		localtest.Change(t, tb, got, func(t *token.Token) { t.Description = "changed" })
		again, err := tb.Get(ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, "changed", again.Description)
		require.EqualValues(t, 9, again.UseCount)
		require.Equal(t, map[string]int64{day(1): 3, day(0): 6}, again.UsesByDay)
	})

	t.Run("every read decodes them", func(t *testing.T) {
		many, err := tb.GetMany(ctx, []token.ID{tok.ID})
		require.NoError(t, err)
		require.Equal(t, map[string]int64{day(1): 3, day(0): 6}, many[tok.ID].UsesByDay)
		withOwner, _, err := tb.GetWithOwner(ctx, tok.ID)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{day(1): 3, day(0): 6}, withOwner.UsesByDay)
		list, _, err := tb.List(ctx, token.Filter{OwnerID: "alice"})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, map[string]int64{day(1): 3, day(0): 6}, list[0].UsesByDay)
	})

	t.Run("a flush removes the days 31 to 45 before its own", func(t *testing.T) {
		old := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "old uses", time.Time{}))
		for _, ago := range []int{30, 31, 38, 45, 46} {
			require.NoError(t, tb.RecordUse(ctx, old.ID, 1, at(ago), ""))
		}
		require.Len(t, dayAttrs(t, tb.Client, tb.Name, old.ID), 5, "a flush prunes only before its own day")
		require.NoError(t, tb.RecordUse(ctx, old.ID, 2, at(0), ""))
		got, err := tb.Get(ctx, old.ID)
		require.NoError(t, err)
		// Day 46 is out of reach of today's flush: the next flush 31 to 45 days after it removes it.
		require.Equal(t, map[string]int64{day(0): 2, day(30): 1, day(46): 1}, got.UsesByDay)
		require.EqualValues(t, 7, got.UseCount)
		require.Len(t, got.DailyUses(today, 30), 30)
		require.EqualValues(t, 2, got.DailyUses(today, 30)[29].Uses)
	})

	t.Run("a change of the token removes the days no flush can reach any more", func(t *testing.T) {
		old := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "long pause", time.Time{}))
		for _, ago := range []int{100, 46, 30, 0} {
			require.NoError(t, tb.RecordUse(ctx, old.ID, 1, at(ago), ""))
		}
		require.Len(t, dayAttrs(t, tb.Client, tb.Name, old.ID), 4)
		got, err := tb.Get(ctx, old.ID)
		require.NoError(t, err)
		localtest.Change(t, tb, got, func(tok *token.Token) { tok.Description = "renamed"; tok.UpdatedAt = today })
		require.Equal(t, map[string]string{"uses" + day(30): "1", "uses" + day(0): "1"}, dayAttrs(t, tb.Client, tb.Name, old.ID))
		again, err := tb.Get(ctx, old.ID)
		require.NoError(t, err)
		require.EqualValues(t, 4, again.UseCount, "the total keeps every use")
	})

	t.Run("a use of a token that is gone creates nothing", func(t *testing.T) {
		gone := localtest.NewToken(t, "alice", "never stored", time.Time{})
		require.ErrorIs(t, tb.RecordUse(ctx, gone.ID, 1, at(0), ""), fault.ErrNotFound)
		_, err := tb.Get(ctx, gone.ID)
		require.ErrorIs(t, err, fault.ErrNotFound)
	})
}
