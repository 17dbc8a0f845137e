package store

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/token"
)

// ItemOf is a token's item as Put would write it, for tests that load many tokens at
// once with BatchWriteItem.
func ItemOf(tb *Table, t *token.Token) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(tb.toItem(t))
}
