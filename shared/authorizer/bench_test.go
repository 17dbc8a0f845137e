package authorizer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"tokengate/infra/localtest"
	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// BenchmarkLocalSideBySide measures, interleaved in one loop so that the machine's noise
// hits them alike, tokengate's DynamoDB-bound operations beside the raw SDK call each
// one cannot avoid: create beside one PutItem, a validation that misses the cache beside
// one GetItem. It reports each one's median in µs and the ratios.
func BenchmarkLocalSideBySide(b *testing.B) {
	f := newFixture(b, 0)
	ctx := context.Background()
	tok := f.create(b, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	miss := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: time.Now})
	key := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TOKEN#" + string(tok.Token.ID)},
		"sk": &types.AttributeValueMemberS{Value: "TOKEN"},
	}
	raw := f.table.Client
	i := 0
	ops := []struct {
		name string
		run  func() error
	}{
		{"raw-GetItem", func() error {
			_, err := raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(f.table.Name), Key: key, ConsistentRead: aws.Bool(true)})
			return err
		}},
		{"validate-miss", func() error {
			if d := miss.Check(ctx, authorizer.Request{Token: s}); !d.Allow {
				return fmt.Errorf("denied: %s", d.Reason)
			}
			return nil
		}},
		{"raw-PutItem", func() error {
			i++
			_, err := raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.table.Name), Item: map[string]types.AttributeValue{
				"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("BENCH#%d", i)},
				"sk":   &types.AttributeValueMemberS{Value: "BENCH"},
				"name": &types.AttributeValueMemberS{Value: "raw put of a token-sized item"},
				"hash": &types.AttributeValueMemberB{Value: make([]byte, 32)},
			}})
			return err
		}},
		{"create", func() error {
			_, err := f.svc.Create(ctx, localtest.Admin, token.CreateInput{Name: "bench", Scopes: []string{"tokens:read"}})
			return err
		}},
	}
	times := make([][]time.Duration, len(ops))
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
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
	b.ReportMetric(p50[1]/p50[0], "miss/GetItem")
	b.ReportMetric(p50[3]/p50[2], "create/PutItem")
}

// BenchmarkCacheHit bounds a warm validation: parse, checksum, cached lookup, one HMAC,
// beside the HMAC alone.
func BenchmarkCacheHit(b *testing.B) {
	f := newFixture(b, time.Hour)
	tok := f.create(b, token.CreateInput{})
	s := tok.Plaintext.Reveal()
	ctx := context.Background()
	a := authorizer.New(authorizer.Config{Tokens: f.table, Keys: f.svc.Keys, Prefix: "tg", Now: time.Now, CacheTTL: time.Hour})
	if !a.Check(ctx, authorizer.Request{Token: s}).Allow {
		b.Fatal("denied")
	}
	_, secret, _ := token.Parse("tg", s)
	pep := f.svc.Keys.Current()
	b.Run("hmac-sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pep.Hash(secret)
		}
	})
	// The decision's JSON log line is part of a validation: formatting it is measured,
	// writing it is left to the sink (io.Discard here, Lambda's stdout pipe in AWS).
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(old)
	b.Run("validate-hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !a.Check(ctx, authorizer.Request{Token: s}).Allow {
				b.Fatal("denied")
			}
		}
	})
}
