package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/settings"
)

var _ settings.Store = (*Table)(nil)

// The run-time settings are one item, pk SETTINGS, sk SETTINGS: the fields a superuser
// set (an absent attribute is the deployment's default; an empty recipients list means
// none), the version every write is conditional on, and who wrote it last. Durations are
// stored as Go durations.
type settingsItem struct {
	PK                   string    `dynamodbav:"pk"`
	SK                   string    `dynamodbav:"sk"`
	DetectionWindow      string    `dynamodbav:"detectionWindow,omitempty"`
	Backoff              string    `dynamodbav:"backoff,omitempty"`
	Recipients           *[]string `dynamodbav:"recipients,omitempty"`
	TemporaryTTL         string    `dynamodbav:"temporaryTokenTtl,omitempty"`
	MaxTemporaryLifetime string    `dynamodbav:"maxTemporaryTokenLifetime,omitempty"`
	Version              int64     `dynamodbav:"version"`
	UpdatedAt            string    `dynamodbav:"updatedAt,omitempty"`
	UpdatedBy            string    `dynamodbav:"updatedBy,omitempty"`
}

func settingsKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "SETTINGS"},
		"sk": &types.AttributeValueMemberS{Value: "SETTINGS"},
	}
}

// GetSettings reads the settings item (strongly consistent: a PATCH reads what the last
// one wrote); none stored is the zero settings.Stored.
func (tb *Table) GetSettings(ctx context.Context) (settings.Stored, error) {
	out, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tb.Name), Key: settingsKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return settings.Stored{}, fmt.Errorf("get settings: %w", err)
	}
	if out.Item == nil {
		return settings.Stored{}, nil
	}
	var it settingsItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return settings.Stored{}, fmt.Errorf("decode settings: %w", err)
	}
	st := settings.Stored{Version: it.Version, UpdatedAt: parseTime(it.UpdatedAt), UpdatedBy: it.UpdatedBy}
	var errs []error
	dur := func(name, s string) *time.Duration {
		if s == "" {
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("stored %s %q: %w", name, s, err))
			return nil
		}
		return &d
	}
	st.DetectionWindow = dur(settings.FieldDetectionWindow, it.DetectionWindow)
	st.Backoff = dur(settings.FieldBackoff, it.Backoff)
	st.TemporaryTTL = dur(settings.FieldTemporaryTTL, it.TemporaryTTL)
	st.MaxTemporaryLifetime = dur(settings.FieldMaxTemporaryLifetime, it.MaxTemporaryLifetime)
	if it.Recipients != nil {
		list := append([]string{}, *it.Recipients...)
		st.Recipients = &list
	}
	// A stored value that does not read is an error, never the default: the default may
	// be looser than what was set.
	if err := errors.Join(errs...); err != nil {
		return settings.Stored{}, fmt.Errorf("decode settings: %w", err)
	}
	return st, nil
}

// PutSettings writes the whole settings item and its audit record in one transaction,
// if the item is still at ifVersion (0: absent); a lost race is fault.ErrConflict.
func (tb *Table) PutSettings(ctx context.Context, st settings.Stored, ifVersion int64, ev audit.Event) error {
	dur := func(d *time.Duration) string {
		if d == nil {
			return ""
		}
		return d.String()
	}
	it := settingsItem{
		PK: "SETTINGS", SK: "SETTINGS",
		DetectionWindow: dur(st.DetectionWindow), Backoff: dur(st.Backoff), Recipients: st.Recipients,
		TemporaryTTL: dur(st.TemporaryTTL), MaxTemporaryLifetime: dur(st.MaxTemporaryLifetime),
		Version: st.Version, UpdatedAt: formatTime(st.UpdatedAt), UpdatedBy: st.UpdatedBy,
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	if st.Recipients != nil && len(*st.Recipients) == 0 {
		av["recipients"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	}
	put := &types.Put{TableName: aws.String(tb.Name), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if ifVersion != 0 {
		put.ConditionExpression = aws.String("#version = :ifVersion")
		put.ExpressionAttributeNames = map[string]string{"#version": "version"}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":ifVersion": &types.AttributeValueMemberN{Value: strconv.FormatInt(ifVersion, 10)}}
	}
	items, err := tb.auditPuts([]types.TransactWriteItem{{Put: put}}, []audit.Event{ev})
	if err != nil {
		return err
	}
	_, err = tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if conditionFailed(err) {
		return fault.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	return nil
}
