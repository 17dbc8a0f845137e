// Package store keeps tokengate's items in one DynamoDB table: tokens, the encrypted
// pepper versions and principals. It is the only package that knows the table layout
// (docs/table-design.md); it never sees a token secret, only its keyed hash.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/shared/access"
	"tokengate/shared/audit"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// Index names, as declared in template.yaml.
const (
	IndexByOwner   = "byOwner"
	IndexByExpiry  = "byExpiry"
	IndexByCreated = "byCreated"
)

// Table is the DynamoDB table. Retention is how long ended tokens stay before TTL.
type Table struct {
	Client    *dynamodb.Client
	Name      string
	Retention time.Duration
}

var _ token.Store = (*Table)(nil)

const timeFormat = time.RFC3339

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func tokenKey(id token.ID) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(id)},
		"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
	}
}

// tokenItem is a token as stored. Its own struct, so a new field on token.Token never
// reaches the table by accident.
type tokenItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"` // byOwner: OWNER#<ownerId>
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"` //          <createdAt>#<id>
	GSI2PK string `dynamodbav:"gsi2pk,omitempty"` // byExpiry: EXP#<yyyy-mm-dd>, active permanent tokens only
	GSI2SK string `dynamodbav:"gsi2sk,omitempty"` //           <expiresAt>#<id>
	GSI3PK string `dynamodbav:"gsi3pk,omitempty"` // byCreated: TOKENS
	GSI3SK string `dynamodbav:"gsi3sk,omitempty"` //            <createdAt>#<id>

	ID                string   `dynamodbav:"id"`
	OwnerID           string   `dynamodbav:"ownerId"`
	CreatedBy         string   `dynamodbav:"createdBy,omitempty"`
	MintedBy          string   `dynamodbav:"mintedBy,omitempty"`
	DisabledBy        string   `dynamodbav:"disabledBy,omitempty"`
	Name              string   `dynamodbav:"name"`
	Description       string   `dynamodbav:"description,omitempty"`
	Scopes            []string `dynamodbav:"scopes,stringset"`
	Type              string   `dynamodbav:"type"`
	Status            string   `dynamodbav:"status"`
	Hint              string   `dynamodbav:"hint"`
	CreatedAt         string   `dynamodbav:"createdAt"`
	UpdatedAt         string   `dynamodbav:"updatedAt"`
	ExpiresAt         string   `dynamodbav:"expiresAt,omitempty"`
	EndedAt           string   `dynamodbav:"endedAt,omitempty"`
	Hash              []byte   `dynamodbav:"hash"`
	PepperVersion     int      `dynamodbav:"pepperVersion"`
	PrevHash          []byte   `dynamodbav:"prevHash,omitempty"`
	PrevPepperVersion int      `dynamodbav:"prevPepperVersion,omitempty"`
	PrevValidUntil    string   `dynamodbav:"prevValidUntil,omitempty"`
	// Older rotated-away secrets' keyed hashes (token.Token.Retired), newest first.
	Retired         []retiredItem `dynamodbav:"retired,omitempty"`
	OnReuse         string        `dynamodbav:"onReuse,omitempty"`
	OnReuseSetBy    string        `dynamodbav:"onReuseSetBy,omitempty"`
	ReuseDetectedAt string        `dynamodbav:"reuseDetectedAt,omitempty"`
	ReuseIP         string        `dynamodbav:"reuseIp,omitempty"`
	TTL             int64         `dynamodbav:"ttl,omitempty"` // epoch seconds: DynamoDB TTL removes the item after it

	IPAllowlist     []string                `dynamodbav:"ipAllowlist,omitempty"`
	RateLimit       *restriction.RateLimit  `dynamodbav:"rateLimit,omitempty"`
	TimeRestriction *restriction.TimeWindow `dynamodbav:"timeRestriction,omitempty"`
	EmergencyUntil  string                  `dynamodbav:"emergencyUntil,omitempty"`
	// Who set each restriction (restriction.Set).
	IPAllowlistSetBy     string `dynamodbav:"ipAllowlistSetBy,omitempty"`
	RateLimitSetBy       string `dynamodbav:"rateLimitSetBy,omitempty"`
	TimeRestrictionSetBy string `dynamodbav:"timeRestrictionSetBy,omitempty"`
	Version              int64  `dynamodbav:"version"`

	// Usage: only the authorizer's atomic adds write these.
	LastUsedAt string `dynamodbav:"lastUsedAt,omitempty"`
	LastUsedIP string `dynamodbav:"lastUsedIp,omitempty"`
	UseCount   int64  `dynamodbav:"useCount,omitempty"`
	// Only the notifier's conditional claim writes this (ClaimNotice).
	LastNotifiedAt string `dynamodbav:"lastNotifiedAt,omitempty"`
	// Only the notifier's conditional claim of a reuse mail writes this (ClaimReuseNotice).
	ReuseNotifiedAt string `dynamodbav:"reuseNotifiedAt,omitempty"`

	OwnerIncarnation string `dynamodbav:"ownerIncarnation,omitempty"`

	// Lineage (token.Token.ParentID, Bounds, EndsWith, NotAfter): set at issuance, never
	// changed.
	ParentID          string                   `dynamodbav:"parentId,omitempty"`
	BoundIPAllowlists [][]string               `dynamodbav:"boundIpAllowlists,omitempty"`
	BoundTimeWindows  []restriction.TimeWindow `dynamodbav:"boundTimeWindows,omitempty"`
	BoundRates        []rateBoundItem          `dynamodbav:"boundRates,omitempty"`
	Ancestors         []string                 `dynamodbav:"ancestors,omitempty"`
	EndsWith          []string                 `dynamodbav:"endsWith,omitempty"`
	NotAfter          string                   `dynamodbav:"notAfter,omitempty"`
}

// retiredItem is a token.RetiredSecret as stored.
type retiredItem struct {
	Hash          []byte `dynamodbav:"h"`
	PepperVersion int    `dynamodbav:"v"`
}

// rateBoundItem is a restriction.RateBound as stored.
type rateBoundItem struct {
	Key   string `dynamodbav:"key"`
	Limit int    `dynamodbav:"limit"`
	Per   string `dynamodbav:"per"`
}

// usageAttrs are never written by Put: a Put that replaced them would lose the
// authorizer's concurrent adds, or the notifier's claims (lastNotifiedAt). The day
// attributes (usage.go) are not tokenItem's fields: Put neither sets nor removes them.
var usageAttrs = map[string]bool{"lastUsedAt": true, "lastUsedIp": true, "useCount": true, "lastNotifiedAt": true, "reuseNotifiedAt": true}

// clearable are the optional attributes Put removes when the token no longer has them.
var clearable = []string{"gsi2pk", "gsi2sk", "createdBy", "description", "expiresAt", "endedAt", "prevHash", "prevPepperVersion", "prevValidUntil", "ttl", "ipAllowlist", "rateLimit", "timeRestriction", "emergencyUntil",
	"mintedBy", "disabledBy", "ipAllowlistSetBy", "rateLimitSetBy", "timeRestrictionSetBy",
	"retired", "onReuse", "onReuseSetBy", "reuseDetectedAt", "reuseIp"}

func (tb *Table) toItem(t *token.Token) tokenItem {
	created := formatTime(t.CreatedAt) + "#" + string(t.ID)
	it := tokenItem{
		PK: "TOKEN#" + string(t.ID), SK: "TOKEN",
		GSI1PK: "OWNER#" + t.OwnerID, GSI1SK: created,
		GSI3PK: "TOKENS", GSI3SK: created,
		ID: string(t.ID), OwnerID: t.OwnerID, CreatedBy: t.CreatedBy, MintedBy: t.MintedBy, DisabledBy: t.DisabledBy,
		Name: t.Name, Description: t.Description, Scopes: t.Scopes,
		Type: string(t.Type), Status: string(t.Status), Hint: t.Hint,
		CreatedAt: formatTime(t.CreatedAt), UpdatedAt: formatTime(t.UpdatedAt),
		ExpiresAt: formatTime(t.ExpiresAt), EndedAt: formatTime(t.EndedAt),
		Hash: t.Hash, PepperVersion: t.PepperVersion,
		PrevHash: t.PrevHash, PrevPepperVersion: t.PrevPepperVersion, PrevValidUntil: formatTime(t.PrevValidUntil),
		Version:         t.Version,
		RateLimit:       t.Restrictions.RateLimit,
		TimeRestriction: t.Restrictions.TimeRestriction,
		EmergencyUntil:  formatTime(t.EmergencyUntil),

		IPAllowlistSetBy:     t.Restrictions.IPAllowlistSetBy,
		RateLimitSetBy:       t.Restrictions.RateLimitSetBy,
		TimeRestrictionSetBy: t.Restrictions.TimeRestrictionSetBy,
		OwnerIncarnation:     t.OwnerIncarnation,

		OnReuse: string(t.OnReuse), OnReuseSetBy: t.OnReuseSetBy, ReuseDetectedAt: formatTime(t.ReuseDetectedAt), ReuseIP: t.ReuseIP,
	}
	for _, r := range t.Retired {
		it.Retired = append(it.Retired, retiredItem{Hash: r.Hash, PepperVersion: r.PepperVersion})
	}
	for _, p := range t.Restrictions.IPAllowlist {
		it.IPAllowlist = append(it.IPAllowlist, p.String())
	}
	it.ParentID, it.NotAfter = string(t.ParentID), formatTime(t.NotAfter)
	for _, l := range t.Bounds.IPAllowlists {
		var strs []string
		for _, p := range l {
			strs = append(strs, p.String())
		}
		it.BoundIPAllowlists = append(it.BoundIPAllowlists, strs)
	}
	it.BoundTimeWindows = t.Bounds.TimeWindows
	for _, r := range t.Bounds.Rates {
		it.BoundRates = append(it.BoundRates, rateBoundItem{Key: string(r.Key), Limit: r.Limit.Limit, Per: r.Limit.Per})
	}
	for _, id := range t.EndsWith {
		it.EndsWith = append(it.EndsWith, string(id))
	}
	for _, id := range t.Ancestors {
		it.Ancestors = append(it.Ancestors, string(id))
	}
	if at := t.RemoveAt(tb.Retention); !at.IsZero() {
		it.TTL = at.Unix()
	}
	if ExpiryIndexed(t) {
		it.GSI2PK, it.GSI2SK = ExpiryBucket(t.ExpiresAt), formatTime(t.ExpiresAt)+"#"+string(t.ID)
	}
	if t.Status == token.StatusPending {
		// The approval queue: a sparse partition of byExpiry that the notifier never reads.
		it.GSI2PK, it.GSI2SK = "PENDING", created
	}
	return it
}

// ExpiryIndexed reports whether t belongs in the sparse byExpiry index: only active
// permanent tokens with an expiry can be warned about.
func ExpiryIndexed(t *token.Token) bool {
	return t.Status == token.StatusActive && t.Type == token.TypePermanent && !t.ExpiresAt.IsZero()
}

// ExpiryBucket is the byExpiry partition of an expiry time: one per UTC day, so a run of
// the notifier reads only the days its window covers.
func ExpiryBucket(at time.Time) string { return "EXP#" + at.UTC().Format("2006-01-02") }

// fromItem turns an item into a token. A stored value that does not parse (an allowlist
// entry, a time window, a rate limit, a timestamp) is named in Unreadable rather than
// dropped, so the authorizer refuses the token instead of reading "no restriction".
func fromItem(it tokenItem) *token.Token {
	var bad []string
	at := func(name, s string) time.Time {
		t, ok := parseTimeOK(s)
		if !ok {
			bad = append(bad, name)
		}
		return t
	}
	t := &token.Token{
		ID: token.ID(it.ID), OwnerID: it.OwnerID, CreatedBy: it.CreatedBy, MintedBy: it.MintedBy, DisabledBy: it.DisabledBy,
		Name: it.Name, Description: it.Description, Scopes: it.Scopes,
		Type: token.Type(it.Type), Status: token.Status(it.Status), Hint: it.Hint,
		CreatedAt: at("createdAt", it.CreatedAt), UpdatedAt: at("updatedAt", it.UpdatedAt),
		ExpiresAt: at("expiresAt", it.ExpiresAt), EndedAt: at("endedAt", it.EndedAt),
		Hash: it.Hash, PepperVersion: it.PepperVersion,
		PrevHash: it.PrevHash, PrevPepperVersion: it.PrevPepperVersion, PrevValidUntil: at("prevValidUntil", it.PrevValidUntil),
		LastUsedAt: parseTime(it.LastUsedAt), LastUsedIP: it.LastUsedIP, UseCount: it.UseCount,
		LastNotifiedAt: parseTime(it.LastNotifiedAt), ReuseNotifiedAt: parseTime(it.ReuseNotifiedAt),
		Version:        it.Version,
		EmergencyUntil: at("emergencyUntil", it.EmergencyUntil),
		Restrictions: restriction.Set{RateLimit: it.RateLimit, TimeRestriction: it.TimeRestriction,
			IPAllowlistSetBy: it.IPAllowlistSetBy, RateLimitSetBy: it.RateLimitSetBy, TimeRestrictionSetBy: it.TimeRestrictionSetBy},

		OwnerIncarnation: it.OwnerIncarnation,

		OnReuse: token.ReuseAction(it.OnReuse), OnReuseSetBy: it.OnReuseSetBy, ReuseDetectedAt: at("reuseDetectedAt", it.ReuseDetectedAt), ReuseIP: it.ReuseIP,
	}
	if it.OnReuse != "" && !token.ValidReuseAction(it.OnReuse) {
		bad = append(bad, "onReuse")
	}
	for _, r := range it.Retired {
		t.Retired = append(t.Retired, token.RetiredSecret{Hash: r.Hash, PepperVersion: r.PepperVersion})
	}
	for _, s := range it.IPAllowlist {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			bad = append(bad, "ipAllowlist")
			continue
		}
		t.Restrictions.IPAllowlist = append(t.Restrictions.IPAllowlist, p)
	}
	t.ParentID, t.NotAfter = token.ID(it.ParentID), at("notAfter", it.NotAfter)
	for _, l := range it.BoundIPAllowlists {
		var prefixes []netip.Prefix
		for _, s := range l {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				bad = append(bad, "boundIpAllowlists")
				continue
			}
			prefixes = append(prefixes, p)
		}
		if len(prefixes) == 0 {
			bad = append(bad, "boundIpAllowlists") // an empty bound would read as "any address"
			continue
		}
		t.Bounds.IPAllowlists = append(t.Bounds.IPAllowlists, prefixes)
	}
	for _, w := range it.BoundTimeWindows {
		check := &fault.InvalidError{}
		restriction.CheckTimeWindow(check, &restriction.TimeWindow{Days: append([]string(nil), w.Days...), StartHour: w.StartHour, EndHour: w.EndHour})
		if check.Err() != nil {
			bad = append(bad, "boundTimeWindows")
			continue
		}
		t.Bounds.TimeWindows = append(t.Bounds.TimeWindows, w)
	}
	for _, r := range it.BoundRates {
		rl := restriction.RateLimit{Limit: r.Limit, Per: r.Per}
		check := &fault.InvalidError{}
		restriction.CheckRateLimit(check, &rl)
		if check.Err() != nil || !token.ValidID(r.Key) {
			bad = append(bad, "boundRates")
			continue
		}
		t.Bounds.Rates = append(t.Bounds.Rates, restriction.RateBound{Key: restriction.Key(r.Key), Limit: rl})
	}
	for _, id := range it.EndsWith {
		if !token.ValidID(id) {
			bad = append(bad, "endsWith")
			continue
		}
		t.EndsWith = append(t.EndsWith, token.ID(id))
	}
	for _, id := range it.Ancestors {
		if !token.ValidID(id) {
			bad = append(bad, "ancestors")
			continue
		}
		t.Ancestors = append(t.Ancestors, token.ID(id))
	}
	if w := it.TimeRestriction; w != nil {
		check := &fault.InvalidError{}
		days := append([]string(nil), w.Days...)
		restriction.CheckTimeWindow(check, &restriction.TimeWindow{Days: days, StartHour: w.StartHour, EndHour: w.EndHour})
		if check.Err() != nil {
			bad = append(bad, "timeRestriction")
		}
	}
	if r := it.RateLimit; r != nil {
		check := &fault.InvalidError{}
		restriction.CheckRateLimit(check, r)
		if check.Err() != nil {
			bad = append(bad, "rateLimit")
		}
	}
	t.Unreadable = bad
	return t
}

// parseTimeOK is parseTime that also says whether s was empty or parsed.
func parseTimeOK(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(timeFormat, s)
	return t, err == nil
}

// Get reads a token with a strongly consistent read, so a rotation or revocation is
// seen by the very next request.
func (tb *Table) Get(ctx context.Context, id token.ID) (*token.Token, error) {
	out, err := tb.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get item: %w", err)
	}
	if out.Item == nil {
		return nil, fault.ErrNotFound
	}
	return decodeToken(out.Item)
}

// Put writes every attribute of t but the usage counters, in one UpdateItem conditioned
// on the version: a new token must not exist yet, a changed one must still be at
// ifVersion. Either way a lost race returns fault.ErrConflict and writes nothing. With
// events, the update and the audit records are one TransactWriteItems: both or neither.
func (tb *Table) Put(ctx context.Context, t *token.Token, ifVersion int64, events ...audit.Event) error {
	av, err := attributevalue.MarshalMap(tb.toItem(t))
	if err != nil {
		return fmt.Errorf("encode token item: %w", err)
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var sets, removes []string
	keys := make([]string, 0, len(av))
	for k := range av {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "pk" || k == "sk" || usageAttrs[k] {
			continue
		}
		n, v := "#"+k, ":"+k
		names[n], values[v] = k, av[k]
		sets = append(sets, n+" = "+v)
	}
	for _, k := range clearable {
		if _, ok := av[k]; !ok {
			names["#"+k] = k
			removes = append(removes, "#"+k)
		}
	}
	for i, k := range staleUseDays(t.UsesByDay, t.UpdatedAt) {
		n := "#staleDay" + strconv.Itoa(i)
		names[n] = k
		removes = append(removes, n)
	}
	update := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		update += " REMOVE " + strings.Join(removes, ", ")
	}
	cond := "attribute_not_exists(pk)"
	if ifVersion != 0 {
		cond = "#version = :ifVersion"
		values[":ifVersion"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(ifVersion, 10)}
	}
	if len(events) > 0 || ifVersion != 0 {
		var feed []types.TransactWriteItem
		if ifVersion != 0 { // a change, not a new token: recorded in the change feed (feed.go)
			f, err := tb.feedPut(FeedToken, string(t.ID))
			if err != nil {
				return err
			}
			feed = append(feed, f)
		}
		return tb.transact(ctx, &types.Update{
			TableName: aws.String(tb.Name), Key: tokenKey(t.ID),
			UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}, events, feed...)
	}
	_, err = tb.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(tb.Name), Key: tokenKey(t.ID),
		UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	return conditional(err, "update item: %w")
}

// conditional maps the outcome of a conditional write: a failed condition (the item
// changed, or exists already) is fault.ErrConflict; any other error is wrapped with what
// was being done, whose format ends in ": %w".
func conditional(err error, format string, args ...any) error {
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ccf):
		return fault.ErrConflict
	}
	return fmt.Errorf(format, append(args, err)...)
}

// Create writes a new token and its audit records in one TransactWriteItems, with a
// ConditionCheck that the owner principal is still as checked: same id, incarnation and
// version. A token id taken is fault.ErrConflict, an owner changed token.ErrOwnerChanged;
// either way nothing is written. Creates of one owner check the same principal item, so
// concurrent ones can collide (TransactionConflict, nothing written): they are retried.
func (tb *Table) Create(ctx context.Context, t *token.Token, owner token.OwnerCheck, parent token.ParentCheck, events ...audit.Event) error {
	av, err := attributevalue.MarshalMap(tb.toItem(t))
	if err != nil {
		return fmt.Errorf("encode token item: %w", err)
	}
	writes := []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(tb.Name), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{ConditionCheck: ownerCondition(tb.Name, owner)},
	}
	if parent.ID != "" {
		writes = append(writes, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(tb.Name), Key: tokenKey(parent.ID),
			ConditionExpression:       aws.String("#version = :v"),
			ExpressionAttributeNames:  map[string]string{"#version": "version"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(parent.Version, 10)}},
		}})
	}
	items, err := tb.auditPuts(writes, events)
	if err != nil {
		return err
	}
	err = retryConflicts(ctx, func() error {
		_, err := tb.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
	if replay := tb.cancelledByReplay(ctx, err, events); replay != nil {
		return replay
	}
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		failed := func(i int) bool {
			return i < len(cancelled.CancellationReasons) && aws.ToString(cancelled.CancellationReasons[i].Code) == "ConditionalCheckFailed"
		}
		switch {
		case failed(1):
			return token.ErrOwnerChanged
		case parent.ID != "" && failed(2):
			return token.ErrParentChanged
		case failed(0):
			return fault.ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("create token: transact write: %w", err)
	}
	return nil
}

// ownerCondition checks that a principal is still as a decision saw it. A principal
// stored before incarnations has none; one created since always has one.
func ownerCondition(table string, owner token.OwnerCheck) *types.ConditionCheck {
	cond := "#id = :id AND #version = :v AND #inc = :inc"
	names := map[string]string{"#id": "id", "#version": "version", "#inc": "incarnation"}
	values := map[string]types.AttributeValue{
		":id": &types.AttributeValueMemberS{Value: owner.ID},
		":v":  &types.AttributeValueMemberN{Value: strconv.FormatInt(owner.Version, 10)},
	}
	if owner.Incarnation == "" {
		cond = "#id = :id AND #version = :v AND attribute_not_exists(#inc)"
	} else {
		values[":inc"] = &types.AttributeValueMemberS{Value: owner.Incarnation}
	}
	return &types.ConditionCheck{
		TableName: aws.String(table), Key: principalKey(owner.ID), ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
}

// conflictTries bounds retryConflicts.
const conflictTries = 5

// retryConflicts runs write again, a few times and a few milliseconds apart, while it
// fails only because another transaction held one of its items at that moment
// (TransactionConflictException, or a cancelled transaction whose only reasons are
// TransactionConflict): DynamoDB wrote nothing, and the SDK does not retry these.
func retryConflicts(ctx context.Context, write func() error) error {
	for try := 1; ; try++ {
		err := write()
		if try == conflictTries || !transactionConflict(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try*try) * 5 * time.Millisecond):
		}
	}
}

func transactionConflict(err error) bool {
	var conflict *types.TransactionConflictException
	if errors.As(err, &conflict) {
		return true
	}
	var cancelled *types.TransactionCanceledException
	if !errors.As(err, &cancelled) {
		return false
	}
	seen := false
	for _, r := range cancelled.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict":
			seen = true
		default:
			return false
		}
	}
	return seen
}

// GetWithOwner reads a token and its owner in one strongly consistent BatchGetItem: the
// owner's key comes from the token id's owner reference. The owner is nil when the
// principal no longer exists.
func (tb *Table) GetWithOwner(ctx context.Context, id token.ID) (*token.Token, *access.Principal, error) {
	keys := []map[string]types.AttributeValue{tokenKey(id), {
		"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + id.OwnerRef()},
		"sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"},
	}}
	items, err := tb.batchGet(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("get token %s with owner: %w", id, err)
	}
	var (
		t     *token.Token
		owner *access.Principal
	)
	for _, av := range items {
		if sk, _ := av["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == "PRINCIPAL" {
			p, err := principalFromItem(av)
			if err != nil {
				return nil, nil, err
			}
			owner = p
			continue
		}
		if t, err = decodeToken(av); err != nil {
			return nil, nil, err
		}
	}
	if t == nil {
		return nil, nil, fault.ErrNotFound
	}
	if owner != nil && owner.ID != t.OwnerID {
		owner = nil
	}
	return t, owner, nil
}

// GetMany reads tokens by id (at most 100) in strongly consistent BatchGetItems; an id
// with no token is absent from the answer.
func (tb *Table) GetMany(ctx context.Context, ids []token.ID) (map[token.ID]*token.Token, error) {
	if len(ids) > 100 {
		return nil, fmt.Errorf("get tokens: %d ids, at most 100", len(ids))
	}
	out := map[token.ID]*token.Token{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[token.ID]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, tokenKey(id))
		}
	}
	items, err := tb.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get tokens: %w", err)
	}
	for _, av := range items {
		t, err := decodeToken(av)
		if err != nil {
			return nil, err
		}
		out[t.ID] = t
	}
	return out, nil
}

// batchGet reads items by key in strongly consistent BatchGetItems, again for the keys
// DynamoDB left unprocessed, a few times, a few milliseconds apart.
func (tb *Table) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{tb.Name: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 5 {
				return nil, errors.New("keys left unprocessed")
			}
			time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
		}
		out, err := tb.Client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, err
		}
		items = append(items, out.Responses[tb.Name]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}
