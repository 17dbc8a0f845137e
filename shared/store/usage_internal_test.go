package store

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

// TestUsesByDay: only uses<yyyy-mm-dd> number attributes holding a whole number are a
// day's uses; anything else on the item is left out, never an error.
func TestUsesByDay(t *testing.T) {
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	got := usesByDay(map[string]types.AttributeValue{
		"uses2026-12-03": n("12"),
		"uses2026-11-30": n("0"),
		"uses2026-13-01": n("5"),                                   // no such day
		"usesday":        n("5"),                                   // no date
		"uses2026-12-02": &types.AttributeValueMemberS{Value: "7"}, // not a number
		"uses2026-12-01": n("1.5"),                                 // not whole
		"useCount":       n("99"),
		"pk":             &types.AttributeValueMemberS{Value: "TOKEN#x"},
	})
	require.Equal(t, map[string]int64{"2026-12-03": 12, "2026-11-30": 0}, got)
	require.Nil(t, usesByDay(map[string]types.AttributeValue{"useCount": n("3")}), "no day attributes: nil")
	late := time.Date(2026, 12, 4, 1, 0, 0, 0, time.FixedZone("UTC+2", 2*3600)) // 23:00 UTC on the 3rd
	require.Equal(t, "uses2026-12-03", dayUsesAttr(late), "the UTC day")
}
