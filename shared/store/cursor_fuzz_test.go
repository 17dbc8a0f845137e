package store

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FuzzCursor: any string, presented as the cursor of one owner's listing.
// Properties: no panic; a cursor accepted reaches only that owner's partition (its
// gsi1pk is OWNER#alice) and has exactly the key of the byOwner index; it encodes back
// to a cursor that decodes to the same key (round trip); a refusal is the invalid-cursor
// error (400), nothing else.
func FuzzCursor(f *testing.F) {
	good, err := encodeCursor(map[string]types.AttributeValue{
		"pk": s("TOKEN#x"), "sk": s("TOKEN"), "gsi1pk": s("OWNER#alice"), "gsi1sk": s("2030-01-01T00:00:00Z#x"),
	})
	if err != nil {
		f.Fatal(err)
	}
	other, _ := encodeCursor(map[string]types.AttributeValue{
		"pk": s("TOKEN#x"), "sk": s("TOKEN"), "gsi1pk": s("OWNER#mallory"), "gsi1sk": s("x"),
	})
	for _, c := range []string{good, other, "", "e30", "%%%", "eyJwayI6IiJ9"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		k, err := decodeCursor(c, "gsi1pk", "OWNER#alice")
		if err != nil {
			if err != errBadCursor {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if k == nil {
			if c != "" {
				t.Fatalf("%q decoded to no key", c)
			}
			return
		}
		if pk, _ := k["gsi1pk"].(*types.AttributeValueMemberS); pk == nil || pk.Value != "OWNER#alice" || len(k) != 4 {
			t.Fatalf("%q reaches %v", c, k)
		}
		back, err := encodeCursor(k)
		if err != nil {
			t.Fatal(err)
		}
		k2, err := decodeCursor(back, "gsi1pk", "OWNER#alice")
		if err != nil || !maps.EqualFunc(k, k2, func(a, b types.AttributeValue) bool {
			return a.(*types.AttributeValueMemberS).Value == b.(*types.AttributeValueMemberS).Value
		}) {
			t.Fatalf("%q round trip: %v, %v", c, k2, err)
		}
	})
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
