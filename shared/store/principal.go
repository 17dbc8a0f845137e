package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/access"
	"tokengate/shared/fault"
	"tokengate/shared/principal"
	"tokengate/shared/token"
)

var _ principal.Store = (*Table)(nil)

// Principals live under pk PRINCIPAL#<owner reference>, sk PRINCIPAL: the reference
// (token.OwnerRef) is also the start of every token id of the principal, which lets the
// authorizer fetch a token and its owner in one BatchGetItem. They are listed through
// byCreated (gsi3pk PRINCIPALS, gsi3sk the id).
type principalItem struct {
	PK        string   `dynamodbav:"pk"`
	SK        string   `dynamodbav:"sk"`
	GSI3PK    string   `dynamodbav:"gsi3pk"`
	GSI3SK    string   `dynamodbav:"gsi3sk"`
	ID        string   `dynamodbav:"id"`
	Name      string   `dynamodbav:"name,omitempty"`
	Email     string   `dynamodbav:"email,omitempty"`
	Kind      string   `dynamodbav:"kind,omitempty"`
	Roles     []string `dynamodbav:"roles,stringset,omitempty"`
	Scopes    []string `dynamodbav:"scopes,stringset,omitempty"`
	Superuser bool     `dynamodbav:"superuser,omitempty"`
	CreatedAt string   `dynamodbav:"createdAt,omitempty"`
	UpdatedAt string   `dynamodbav:"updatedAt,omitempty"`
	Version   int64    `dynamodbav:"version"`
	// Incarnation is set once, when the principal is created; its tokens copy it.
	Incarnation string `dynamodbav:"incarnation,omitempty"`
	// VouchedBy only grows: an update ADDs to it, and an enrollment send ADDs its sender
	// without touching the version.
	VouchedBy []string `dynamodbav:"vouchedBy,stringset,omitempty"`
}

func principalKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + token.OwnerRef(id)},
		"sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"},
	}
}

func principalFromItem(av map[string]types.AttributeValue) (*access.Principal, error) {
	var it principalItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return nil, fmt.Errorf("decode principal: %w", err)
	}
	return &access.Principal{
		ID: it.ID, Name: it.Name, Email: it.Email, Kind: it.Kind, Roles: it.Roles, Scopes: it.Scopes, Superuser: it.Superuser,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version,
		Incarnation: it.Incarnation, VouchedBy: it.VouchedBy,
	}, nil
}

// GetPrincipal returns fault.ErrNotFound when no principal has this id.
func (tb *Table) GetPrincipal(ctx context.Context, id string) (*access.Principal, error) {
	out, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tb.Name), Key: principalKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("get principal %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, fault.ErrNotFound
	}
	p, err := principalFromItem(out.Item)
	if err != nil {
		return nil, err
	}
	if p.ID != id {
		return nil, fault.ErrNotFound // another principal with the same reference
	}
	return p, nil
}

// PutPrincipal writes p only if the stored version is still ifVersion (0: p is new and
// neither its id nor its owner reference is taken), else returns fault.ErrConflict. A new
// principal without an Incarnation gets a random one. A change (ifVersion != 0) sets every
// attribute but the id, keys and incarnation, and adds p.VouchedBy to the stored set:
// a voucher recorded meanwhile by an enrollment send (which does not change the version)
// is never lost.
func (tb *Table) PutPrincipal(ctx context.Context, p *access.Principal, ifVersion int64) error {
	if ifVersion == 0 && p.Incarnation == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("principal %s incarnation: %w", p.ID, err)
		}
		p.Incarnation = hex.EncodeToString(b)
	}
	av, err := attributevalue.MarshalMap(principalItem{
		PK: "PRINCIPAL#" + token.OwnerRef(p.ID), SK: "PRINCIPAL", GSI3PK: "PRINCIPALS", GSI3SK: p.ID,
		ID: p.ID, Name: p.Name, Email: p.Email, Kind: p.Kind, Roles: p.Roles, Scopes: p.Scopes, Superuser: p.Superuser,
		CreatedAt: formatTime(p.CreatedAt), UpdatedAt: formatTime(p.UpdatedAt), Version: p.Version,
		Incarnation: p.Incarnation, VouchedBy: p.VouchedBy,
	})
	if err != nil {
		return fmt.Errorf("encode principal %s: %w", p.ID, err)
	}
	var write func() error
	if ifVersion == 0 {
		in := &dynamodb.PutItemInput{TableName: aws.String(tb.Name), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")}
		write = func() error { _, err := tb.Client.PutItem(ctx, in); return err }
	} else {
		// A change: with its change feed item (feed.go), so authorizers drop it.
		in := principalUpdate(av, ifVersion)
		err := tb.withFeed(ctx, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(tb.Name), Key: principalKey(p.ID),
			UpdateExpression: in.UpdateExpression, ConditionExpression: in.ConditionExpression,
			ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: in.ExpressionAttributeValues,
		}}, FeedPrincipal, p.ID)
		if err != nil && !errors.Is(err, fault.ErrConflict) {
			return fmt.Errorf("put principal %s: %w", p.ID, err)
		}
		return err
	}
	// A create of one of its tokens checks the item in a transaction: retried.
	err = retryConflicts(ctx, write)
	return conditional(err, "put principal %s: %w", p.ID)
}

// principalChanged are the attributes a change of a principal sets (or removes, when
// empty); the keys, id and incarnation never change, and vouchedBy is added to.
var principalChanged = []string{"name", "email", "kind", "roles", "scopes", "superuser", "createdAt", "updatedAt", "version"}

// principalUpdate is the UpdateItem (without table and key) that writes the encoded
// principal av over the stored one at version ifVersion.
func principalUpdate(av map[string]types.AttributeValue, ifVersion int64) *dynamodb.UpdateItemInput {
	names := map[string]string{"#id": "id"}
	values := map[string]types.AttributeValue{
		":id":  av["id"],
		":cur": &types.AttributeValueMemberN{Value: strconv.FormatInt(ifVersion, 10)},
	}
	var set, remove []string
	cond := "#id = :id"
	for i, a := range principalChanged {
		n := "#a" + strconv.Itoa(i)
		names[n] = a
		if a == "version" {
			cond += " AND " + n + " = :cur"
		}
		if v, ok := av[a]; ok {
			values[":a"+strconv.Itoa(i)] = v
			set = append(set, n+" = :a"+strconv.Itoa(i))
		} else {
			remove = append(remove, n)
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	if v, ok := av["vouchedBy"]; ok {
		names["#vouchedBy"], values[":vouchedBy"] = "vouchedBy", v
		expr += " ADD #vouchedBy :vouchedBy"
	}
	return &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

// DeletePrincipal removes a principal if it is still at ifVersion. Its tokens stay, but
// the authorizer refuses a token whose owner is gone.
func (tb *Table) DeletePrincipal(ctx context.Context, id string, ifVersion int64) error {
	// With its change feed item (feed.go), so authorizers drop it.
	err := tb.withFeed(ctx, types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(tb.Name), Key: principalKey(id),
		ConditionExpression:      aws.String("#id = :id AND #version = :v"),
		ExpressionAttributeNames: map[string]string{"#id": "id", "#version": "version"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": &types.AttributeValueMemberS{Value: id},
			":v":  &types.AttributeValueMemberN{Value: strconv.FormatInt(ifVersion, 10)},
		},
	}}, FeedPrincipal, id)
	if err != nil && !errors.Is(err, fault.ErrConflict) {
		return fmt.Errorf("delete principal %s: %w", id, err)
	}
	return err
}

// ListPrincipals returns a page of principals by id.
func (tb *Table) ListPrincipals(ctx context.Context, limit int, cursor string) ([]*access.Principal, string, error) {
	start, err := decodeCursor(cursor, "gsi3pk", "PRINCIPALS")
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = 50
	}
	out, err := tb.Client.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(tb.Name), IndexName: aws.String(IndexByCreated),
		KeyConditionExpression:    aws.String("gsi3pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "PRINCIPALS"}},
		Limit:                     aws.Int32(int32(limit)), ExclusiveStartKey: start,
	})
	if err != nil {
		return nil, "", fmt.Errorf("query principals: %w", err)
	}
	page := make([]*access.Principal, 0, len(out.Items))
	for _, av := range out.Items {
		p, err := principalFromItem(av)
		if err != nil {
			return nil, "", err
		}
		page = append(page, p)
	}
	next, err := encodeCursor(out.LastEvaluatedKey)
	return page, next, err
}
