package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/token"
)

// Bad stored data never stops a listing or a notifier run: an item that does not decode
// (written by hand, by an attack, by a version that has since changed its layout) is
// skipped, logged by its id and counted, and the rest of the page is served. A single
// read (Get) still fails on it, so the authorizer refuses that token rather than guess.

// decodeTokens decodes the token items of one query page. An item that does not decode
// is logged by id (with what was being read) and its id returned in skipped.
func decodeTokens(ctx context.Context, what string, items []map[string]types.AttributeValue) (toks []*token.Token, skipped []token.ID) {
	toks = make([]*token.Token, 0, len(items))
	for _, av := range items {
		t, err := decodeToken(av)
		if err != nil {
			id := itemID(av)
			slog.WarnContext(ctx, "stored token item does not decode: skipped", "tokenId", string(id), "read", what, "err", err)
			skipped = append(skipped, id)
			continue
		}
		toks = append(toks, t)
	}
	return toks, skipped
}

// itemID is the token id of a stored item, from its key (pk TOKEN#<id>) since the item's
// other attributes may be what does not decode.
func itemID(av map[string]types.AttributeValue) token.ID {
	if pk := attrS(av, "pk"); pk != "" {
		return token.ID(strings.TrimPrefix(pk, "TOKEN#"))
	}
	return token.ID(fmt.Sprintf("(item without a string pk, %d attributes)", len(av)))
}

// attrS is a string attribute of an item, "" when absent or not a string.
func attrS(av map[string]types.AttributeValue, name string) string {
	if s, ok := av[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
