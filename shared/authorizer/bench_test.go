package authorizer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// BenchmarkLocalSideBySide measures, interleaved in one loop so that the machine's noise
// hits them alike, tokengate's DynamoDB-bound operations beside the raw SDK call each
// one cannot avoid: a validation that misses the cache beside one GetItem (warm: the
// owner was read with another of its tokens, so one GetItem; cold: nothing cached, so
// one BatchGetItem of token and owner), and create beside one PutItem. Create runs as a
// request does, with the caller a warm authorizer let through: for the caller itself it
// is one TransactWriteItems (token, audit record, check of the owner), also measured
// raw, with the same three items, as the least any create can cost; for another
// principal a GetItem of the owner comes first. Create is also beside its own
// transaction replayed raw (captured once in the SDK: the same items, attributes and
// indexes, new keys per iteration), so create/TransactWriteItems-as-create is what the
// service adds to the one call it makes. Rotate (GetItem of the token, then
// TransactWriteItems) is beside them. It reports each one's median in µs and the ratios.
// The decision log line is formatted, then discarded.
func BenchmarkLocalSideBySide(b *testing.B) {
	f := newFixture(b, 0)
	ctx := context.Background()
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(old)

	tok := f.create(b, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	// One token per iteration, so the warm instance never has the token cached.
	fresh := make([]string, b.N)
	firsts := make([]string, b.N) // never used: the first validation on a warm instance
	for i := range fresh {
		fresh[i] = f.create(b, token.CreateInput{}).Plaintext.Reveal()
		firsts[i] = f.create(b, token.CreateInput{}).Plaintext.Reveal()
	}
	cold := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", Now: time.Now, Log: io.Discard})
	// Warm instances read the change feed, as boot assembles them.
	warm := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: time.Hour, Feed: f.table, Log: io.Discard})
	usage := &authorizer.Usage{Store: f.table, Every: time.Minute}
	warmUsage := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: time.Hour, Usage: usage, Feed: f.table, Log: io.Discard})
	for _, a := range []*authorizer.Authorizer{warm, warmUsage} {
		if !a.Check(ctx, authorizer.Request{Token: s}).Allow { // reads the owner
			b.Fatal("denied")
		}
	}
	// The caller of create and rotate: admin's own token, as the warm authorizer lets it through.
	root, err := f.svc.Bootstrap(ctx, "admin", "bench")
	if err != nil {
		b.Fatal(err)
	}
	d := warm.Check(ctx, authorizer.Request{Token: root.Plaintext.Reveal()})
	if !d.Allow || d.Caller.OwnerVersion == 0 {
		b.Fatalf("admin's token: %s", d.Reason)
	}
	caller := d.Caller
	// As boot assembles it: the calling token read once serves the creates through it.
	f.svc.CallingTokens = token.NewCallingTokens(100, time.Hour)
	// Children of admin's token (they have an ancestor): a cold instance reads it too, a
	// warm one has it cached from the first child on.
	children := make([]string, b.N)
	warmChildren := make([]string, b.N)
	for i := range children {
		for _, dst := range []*string{&children[i], &warmChildren[i]} {
			c, err := f.svc.Create(ctx, caller, token.CreateInput{Name: "child", Scopes: []string{"tokens:read"}})
			if err != nil {
				b.Fatal(err)
			}
			*dst = c.Plaintext.Reveal()
		}
	}
	if !warm.Check(ctx, authorizer.Request{Token: warmChildren[0]}).Allow { // caches the ancestor
		b.Fatal("child denied")
	}
	admin, err := f.table.GetPrincipal(ctx, "admin")
	if err != nil {
		b.Fatal(err)
	}
	rotated := f.create(b, token.CreateInput{Name: "rotated"})
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(tok.Token.ID)},
		"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
	}
	raw := f.table.Client
	n := 0
	check := func(a *authorizer.Authorizer, s string) error {
		if d := a.Check(ctx, authorizer.Request{Token: s}); !d.Allow {
			return fmt.Errorf("denied: %s", d.Reason)
		}
		return nil
	}
	// rawCreate is a create's transaction as raw SDK items, keyed apart by prefix and n:
	// a token-sized item, an audit record, the ConditionCheck of the owner principal and,
	// with a parent, the ConditionCheck of the parent token.
	rawCreate := func(prefix string, n int, parent string, indexed bool) []types.TransactWriteItem {
		tokenItem := map[string]types.AttributeValue{
			"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%s%d", prefix, n)},
			"sk":   &types.AttributeValueMemberS{Value: "BENCH"},
			"name": &types.AttributeValueMemberS{Value: "raw put of a token-sized item"},
			"hash": &types.AttributeValueMemberB{Value: make([]byte, 32)},
		}
		if indexed { // in the three indexes a new permanent token is in: byOwner, byExpiry, byCreated
			for k, v := range map[string]string{"gsi1pk": "OWNER#bench", "gsi2pk": "EXP#2027-12-03", "gsi3pk": "BENCHTOKENS"} {
				tokenItem[k] = &types.AttributeValueMemberS{Value: v}
				tokenItem[k[:4]+"sk"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("2026-12-03T00:00:00Z#%s%d", prefix, n)}
			}
		}
		items := []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(f.table.Name), ConditionExpression: aws.String("attribute_not_exists(pk)"), Item: tokenItem}},
			{Put: &types.Put{TableName: aws.String(f.table.Name), ConditionExpression: aws.String("attribute_not_exists(pk)"), Item: map[string]types.AttributeValue{
				"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#audit-%s%d", prefix, n)},
				"sk":   &types.AttributeValueMemberS{Value: "BENCH"},
				"type": &types.AttributeValueMemberS{Value: "create"},
			}}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String(f.table.Name), ConditionExpression: aws.String("#v = :v"),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + token.OwnerRef("admin")},
					"sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"},
				},
				ExpressionAttributeNames:  map[string]string{"#v": "version"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: fmt.Sprint(admin.Version)}},
			}},
		}
		if parent != "" {
			items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(f.table.Name), ConditionExpression: aws.String("attribute_exists(pk)"),
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + parent},
					"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
				},
			}})
		}
		return items
	}
	// The transaction create sends, as it sent it once (captured below the service, in
	// the SDK), to replay raw: the ratio to it is what the service adds to its one call.
	asCreate := captureCreate(b, f, caller)
	replay := func(n int) *dynamodb.TransactWriteItemsInput {
		in := *asCreate
		in.ClientRequestToken = nil
		in.TransactItems = slices.Clone(asCreate.TransactItems)
		for i, it := range in.TransactItems {
			if it.Put == nil {
				continue
			}
			put := *it.Put
			put.Item = maps.Clone(put.Item)
			pk := put.Item["pk"].(*types.AttributeValueMemberS).Value
			put.Item["pk"] = &types.AttributeValueMemberS{Value: fmt.Sprintf("%s#replay-%d", pk, n)}
			in.TransactItems[i].Put = &put
		}
		return &in
	}
	ops := []struct {
		name string
		run  func() error
	}{
		{"raw-GetItem", func() error {
			_, err := raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table.Name), Key: key, ConsistentRead: aws.Bool(true)})
			return err
		}},
		{"validate-miss-warm", func() error { return check(warm, fresh[n]) }},
		{"validate-miss-cold", func() error { return check(cold, s) }},
		// A token's first use, with usage counted: the count is written after the answer
		// (FlushDue, outside the timed decision), never before it.
		{"first-use-warm", func() error { return check(warmUsage, firsts[n]) }},
		{"raw-PutItem", func() error {
			_, err := raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table.Name), Item: map[string]types.AttributeValue{
				"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%d", n)},
				"sk":   &types.AttributeValueMemberS{Value: "BENCH"},
				"name": &types.AttributeValueMemberS{Value: "raw put of a token-sized item"},
				"hash": &types.AttributeValueMemberB{Value: make([]byte, 32)},
			}})
			return err
		}},
		{"create", func() error {
			_, err := f.svc.Create(ctx, caller, token.CreateInput{Name: "bench", Scopes: []string{"tokens:read"}})
			return err
		}},
		// The three items of a create, as raw SDK types: a token-sized item, an audit
		// record, and the ConditionCheck of the owner principal.
		{"raw-TransactWriteItems", func() error {
			_, err := raw.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: rawCreate("tx", n, "", false)})
			return err
		}},
		{"create-for-other", func() error {
			_, err := f.svc.Create(ctx, caller, token.CreateInput{Name: "bench", OwnerID: "alice", Scopes: []string{"tokens:read"}})
			return err
		}},
		{"rotate", func() error {
			_, err := f.svc.Rotate(ctx, caller, rotated.Token.ID, token.RotateInput{})
			return err
		}},
		{"validate-miss-cold-child", func() error { return check(cold, children[n]) }},
		{"validate-miss-warm-child", func() error { return check(warm, warmChildren[n]) }},
		// A create's four items: the three above and the ConditionCheck of its parent.
		{"raw-TransactWriteItems-4", func() error {
			_, err := raw.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: rawCreate("tx-four-", n, caller.TokenID, false)})
			return err
		}},
		// The least a cold miss can cost: the token and its owner in one strongly
		// consistent BatchGetItem (DynamoDB Local answers it slower than one GetItem).
		{"raw-BatchGetItem", func() error {
			_, err := raw.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{f.table.Name: {
				Keys: []map[string]types.AttributeValue{key, {
					"pk": &types.AttributeValueMemberS{Value: "PRINCIPAL#" + tok.Token.ID.OwnerRef()},
					"sk": &types.AttributeValueMemberS{Value: "PRINCIPAL"},
				}}, ConsistentRead: aws.Bool(true)}}})
			return err
		}},
		// The four items of a create with the token item in its three indexes, as the
		// table keeps a new permanent token: the least a create can cost.
		{"raw-TransactWriteItems-4-indexed", func() error {
			_, err := raw.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: rawCreate("tx-four-ix-", n, caller.TokenID, true)})
			return err
		}},
		// Create's own transaction, every item and attribute as create sent it (the new
		// items' keys made apart per iteration): the least this create can cost.
		{"raw-TransactWriteItems-as-create", func() error {
			_, err := raw.TransactWriteItems(ctx, replay(n))
			return err
		}},
	}
	times := make([][]time.Duration, len(ops))
	b.ResetTimer()
	for n = 0; n < b.N; n++ {
		for k, op := range ops {
			t0 := time.Now()
			if err := op.run(); err != nil {
				b.Fatalf("%s: %v", op.name, err)
			}
			times[k] = append(times[k], time.Since(t0))
		}
	}
	b.StopTimer()
	p50 := make([]float64, len(ops))
	for k, op := range ops {
		slices.Sort(times[k])
		p50[k] = float64(times[k][len(times[k])/2].Nanoseconds()) / 1e3
		b.ReportMetric(p50[k], op.name+"-p50-µs")
	}
	b.ReportMetric(p50[1]/p50[0], "warm-miss/GetItem")
	b.ReportMetric(p50[2]/p50[0], "cold-miss/GetItem")
	b.ReportMetric(p50[3]/p50[1], "first-use/warm-miss")
	b.ReportMetric(p50[5]/p50[4], "create/PutItem")
	b.ReportMetric(p50[6]/p50[4], "TransactWriteItems/PutItem")
	b.ReportMetric(p50[5]/p50[6], "create/TransactWriteItems")
	b.ReportMetric(p50[7]/p50[4], "create-for-other/PutItem")
	b.ReportMetric(p50[8]/p50[4], "rotate/PutItem")
	b.ReportMetric(p50[9]/p50[0], "cold-miss-child/GetItem")
	b.ReportMetric(p50[10]/p50[0], "warm-miss-child/GetItem")
	b.ReportMetric(p50[5]/p50[11], "create/TransactWriteItems-4")
	b.ReportMetric(p50[2]/p50[12], "cold-miss/BatchGetItem")
	b.ReportMetric(p50[12]/p50[0], "BatchGetItem/GetItem")
	b.ReportMetric(p50[5]/p50[13], "create/TransactWriteItems-4-indexed")
	b.ReportMetric(p50[5]/p50[14], "create/TransactWriteItems-as-create")
	usage.FlushDue(ctx, time.Now())
}

// BenchmarkCacheHit bounds a warm validation: parse, checksum, the tag's HMAC, the cached
// lookup (by id and that HMAC), beside the HMAC alone; and the refusal of a forged token
// (valid checksum, wrong tag), which reads nothing.
func BenchmarkCacheHit(b *testing.B) {
	f := newFixture(b, time.Hour)
	tok := f.create(b, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	ctx := context.Background()
	// The decision's JSON log line is part of a validation: formatting it is measured,
	// writing it is left to the sink (io.Discard here, Lambda's stdout pipe in AWS).
	a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", CacheTTL: time.Hour, Feed: f.table, Log: io.Discard})
	if !a.Check(ctx, authorizer.Request{Token: s}).Allow {
		b.Fatal("denied")
	}
	p, _ := f.svc.Keys.Parse("tg", s)
	secret := p.Secret
	pep := f.svc.Keys.Current()
	b.Run("hmac-sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pep.Hash(secret)
		}
	})
	forger, _ := token.NewPepper(pep.Version, make([]byte, 32))
	forgerKeys, _ := token.NewKeyring(forger)
	forged, _ := token.Generate("tg", tok.Token.ID, forgerKeys, nil)
	fs := forged.Plaintext.Reveal()
	b.Run("validate-forged", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if a.Check(ctx, authorizer.Request{Token: fs}).Reason != authorizer.ReasonForged {
				b.Fatal("not refused as forged")
			}
		}
	})
	b.Run("validate-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !a.Check(ctx, authorizer.Request{Token: s}).Allow {
				b.Fatal("denied")
			}
		}
	})
}

// captureCreate makes one create for caller, as the bench's creates are, through a copy
// of the service whose DynamoDB client notes the TransactWriteItems it sends, and
// returns that input.
func captureCreate(b *testing.B, f *fixture, caller access.Caller) *dynamodb.TransactWriteItemsInput {
	b.Helper()
	var got *dynamodb.TransactWriteItemsInput
	note := middleware.InitializeMiddlewareFunc("noteTransaction", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		if tx, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
			got = tx
		}
		return next.HandleInitialize(ctx, in)
	})
	table := *f.table
	table.Client = dynamodb.New(f.table.Client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error { return s.Initialize.Add(note, middleware.Before) })
	})
	svc := *f.svc
	svc.Store = &table
	if _, err := svc.Create(context.Background(), caller, token.CreateInput{Name: "bench", Scopes: []string{"tokens:read"}}); err != nil {
		b.Fatal(err)
	}
	if got == nil {
		b.Fatal("create sent no TransactWriteItems")
	}
	return got
}
