package store_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"tokengate/infra/localtest"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

const (
	benchTokens   = 100_000
	benchExpiring = 100
	benchWindow   = 168 * time.Hour
)

// BenchmarkExpiring bounds what one notifier run (and one GET /alerts) reads: on a table
// of 100,000 tokens of which 100 expire within the window, the byExpiry query must read
// at most 1.1 items per expiring token. A full Scan of the same table, filtered to the
// same tokens, is measured beside it as the baseline. "items/op" counts the items
// DynamoDB read (ScannedCount, which is what a read is billed on), taken from the SDK's
// responses, not from the store's own account. Loading the table takes a minute or two
// and is not timed; a full Scan of 100,000 items takes about a minute on DynamoDB Local,
// so `make bench` runs this benchmark apart, with 3 iterations.
func BenchmarkExpiring(b *testing.B) {
	tb := localtest.Table(b)
	now := time.Now().UTC().AddDate(0, 1, 0).Truncate(time.Second)
	start := time.Now()
	loadBenchTable(b, tb, now)
	b.Logf("loaded %d tokens (%d expiring within %s) in %s", benchTokens, benchExpiring, benchWindow, time.Since(start).Round(time.Second))

	var read atomic.Int64
	counted := &store.Table{Client: countingClient(tb.Client, &read), Name: tb.Name, Retention: tb.Retention}
	ctx := context.Background()

	b.Run("byExpiry", func(b *testing.B) {
		b.ReportAllocs()
		read.Store(0)
		for b.Loop() {
			got, err := counted.Expiring(ctx, now, now.Add(benchWindow))
			if err != nil {
				b.Fatal(err)
			}
			if len(got) != benchExpiring {
				b.Fatalf("found %d expiring tokens, want %d", len(got), benchExpiring)
			}
		}
		perRun := float64(read.Load()) / float64(b.N)
		b.ReportMetric(perRun, "items/op")
		if perRun > 1.1*benchExpiring {
			b.Fatalf("a run read %.0f items for %d expiring tokens: more than 1.1 per token", perRun, benchExpiring)
		}
	})
	b.Run("fullScan", func(b *testing.B) {
		b.ReportAllocs()
		read.Store(0)
		for b.Loop() {
			if n := scanExpiring(b, counted, now, now.Add(benchWindow)); n != benchExpiring {
				b.Fatalf("the scan found %d expiring tokens, want %d", n, benchExpiring)
			}
		}
		b.ReportMetric(float64(read.Load())/float64(b.N), "items/op")
	})
}

// scanExpiring is the baseline: every item of the table read, the window applied by a
// filter (which saves bandwidth, not reads).
func scanExpiring(b *testing.B, tb *store.Table, after, until time.Time) int {
	// A page of a filtered Scan of 100,000 items can take DynamoDB Local longer than the
	// functions' 2 s attempt budget (boot.AttemptTimeout): the baseline is no function's
	// call, so it waits as long as it takes.
	patient := dynamodb.New(tb.Client.Options(), func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Timeout: 5 * time.Minute} })
	p := dynamodb.NewScanPaginator(patient, &dynamodb.ScanInput{
		TableName:        aws.String(tb.Name),
		FilterExpression: aws.String("gsi2sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lo": &types.AttributeValueMemberS{Value: after.Add(time.Second).Format(time.RFC3339)},
			":hi": &types.AttributeValueMemberS{Value: until.Format(time.RFC3339) + "#~"},
		},
	})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		n += int(page.Count)
	}
	return n
}

// countingClient is c with every Query and Scan adding the items DynamoDB read to n.
func countingClient(c *dynamodb.Client, n *atomic.Int64) *dynamodb.Client {
	return dynamodb.New(c.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("countItemsRead",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleInitialize(ctx, in)
					switch r := out.Result.(type) {
					case *dynamodb.QueryOutput:
						n.Add(int64(r.ScannedCount))
					case *dynamodb.ScanOutput:
						n.Add(int64(r.ScannedCount))
					}
					return out, md, err
				}), middleware.After)
		})
	})
}

// loadBenchTable writes benchTokens tokens with BatchWriteItem from several goroutines:
// benchExpiring expire within the window after now, spread over it; of the rest, most
// are active permanent tokens expiring later in the year (in the index, outside the
// window), and the others are temporary, revoked or never expire (not in the index).
func loadBenchTable(b *testing.B, tb *store.Table, now time.Time) {
	const workers = 16
	items := make(chan map[string]types.AttributeValue, 1000)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		loadErr error
	)
	for range workers {
		wg.Go(func() {
			batch := make([]types.WriteRequest, 0, 25)
			flush := func() {
				if err := writeBatch(tb, batch); err != nil {
					errOnce.Do(func() { loadErr = err })
				}
				batch = batch[:0]
			}
			for it := range items {
				batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
				if len(batch) == 25 {
					flush()
				}
			}
			if len(batch) > 0 {
				flush()
			}
		})
	}
	for i := range benchTokens {
		tok := localtest.NewToken(b, fmt.Sprintf("owner-%d", i%1000), fmt.Sprintf("token %d", i), time.Time{})
		switch {
		case i < benchExpiring:
			tok.ExpiresAt = now.Add(time.Duration(i+1) * benchWindow / benchExpiring)
		case i%10 == 1:
			tok.Type = token.TypeTemporary
			tok.ExpiresAt = now.Add(-time.Duration(i%24) * time.Hour)
		case i%10 == 2:
			tok.Status, tok.EndedAt = token.StatusRevoked, now
			tok.ExpiresAt = now.Add(time.Duration(i%7+1) * 24 * time.Hour) // in the window, but revoked
		case i%10 == 3:
			tok.ExpiresAt = time.Time{}
		default:
			tok.ExpiresAt = now.Add(benchWindow + time.Duration(i%(350*24))*time.Hour + time.Second)
		}
		it, err := store.ItemOf(tb, tok)
		if err != nil {
			b.Fatal(err)
		}
		items <- it
	}
	close(items)
	wg.Wait()
	if loadErr != nil {
		b.Fatal(loadErr)
	}
}

// writeBatch writes up to 25 items, retrying what DynamoDB leaves unprocessed.
func writeBatch(tb *store.Table, batch []types.WriteRequest) error {
	reqs := map[string][]types.WriteRequest{tb.Name: append([]types.WriteRequest(nil), batch...)}
	for attempt := 0; len(reqs[tb.Name]) > 0; attempt++ {
		if attempt == 10 {
			return fmt.Errorf("batch write: %d items still unprocessed", len(reqs[tb.Name]))
		}
		out, err := tb.Client.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: reqs})
		if err != nil {
			return fmt.Errorf("batch write: %w", err)
		}
		reqs = out.UnprocessedItems
	}
	return nil
}
