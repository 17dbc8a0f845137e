package authorizer_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"tokengate/infra/localtest"
	"tokengate/shared/authorizer"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// BenchmarkLocalFeed measures, in one run, what the change feed and the leased rate
// limits promise (docs/table-design.md): how long a revocation takes to show on every
// busy instance (p50, p99 over 100 revocations, from the revoke's answer to both
// instances refusing, and on each instance), the feed reads a busy instance makes per second and an idle one
// (0), and the writes per request of a rate-limited token at 10, 100 and 1,000
// requests/s, each through its own counted SDK client. b.N below 100 makes a short run
// (go test runs a benchmark once with b.N = 1 before the real run).
func BenchmarkLocalFeed(b *testing.B) {
	f := newFixture(b, 0)
	ctx := context.Background()
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	defer slog.SetDefault(old)
	revocations, short := 100, b.N < 100
	if short {
		revocations = 2
	}
	type instance struct {
		a  *authorizer.Authorizer
		ct *localtest.CountingTransport
	}
	mk := func() instance {
		feed, ct := localtest.Counted(b, f.table)
		return instance{authorizer.New(authorizer.Config{Tokens: f.table, Leases: f.table, Feed: feed, Keys: f.svc.Keys,
			Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: cacheTTL, Log: io.Discard}), ct}
	}
	busy := []instance{mk(), mk()}
	idle := mk()
	toks := make([]string, revocations)
	ids := make([]token.ID, revocations)
	for i := range toks {
		c := f.create(b, token.CreateInput{})
		toks[i], ids[i] = c.Plaintext.Reveal(), c.Token.ID
		for _, in := range append(busy, idle) {
			if !allow(in.a, toks[i]).Allow {
				b.Fatal("denied")
			}
		}
	}
	b.ResetTimer()

	// Revocations 100 ms apart; a monitor asks both busy instances about every token
	// revoked and not yet refused by both, every 2 ms (the instances are busy), and
	// notes when each refused it first.
	type pending struct {
		i       int
		revoked time.Time
		seen    [2]time.Duration
	}
	var (
		mu      sync.Mutex
		open    []*pending
		visible []time.Duration // on both instances
		each    []time.Duration // on one instance
	)
	readsBefore := []int64{busy[0].ct.Reads.Load(), busy[1].ct.Reads.Load(), idle.ct.Reads.Load()}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		warm := toks[len(toks)-1] // revoked last: something to ask about meanwhile
		for {
			mu.Lock()
			work := slices.Clone(open)
			mu.Unlock()
			if len(visible) == revocations {
				return
			}
			for k, in := range busy {
				allow(in.a, warm)
				for _, p := range work {
					if p.seen[k] == 0 && allow(in.a, toks[p.i]).Reason == authorizer.ReasonInactive {
						p.seen[k] = time.Since(p.revoked)
					}
				}
			}
			mu.Lock()
			open = slices.DeleteFunc(open, func(p *pending) bool {
				if p.seen[0] > 0 && p.seen[1] > 0 {
					visible = append(visible, max(p.seen[0], p.seen[1]))
					each = append(each, p.seen[0], p.seen[1])
					return true
				}
				return false
			})
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	for i := range toks {
		if _, err := f.svc.Revoke(ctx, localtest.Admin, ids[i], ""); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		open = append(open, &pending{i: i, revoked: time.Now()})
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	<-done
	busySeconds := time.Since(start).Seconds()
	slices.Sort(visible)
	slices.Sort(each)
	pct := func(d []time.Duration, p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Milliseconds()) }
	b.ReportMetric(pct(visible, 0.5), "visibility-both-p50-ms")
	b.ReportMetric(pct(visible, 0.99), "visibility-both-p99-ms")
	b.ReportMetric(pct(each, 0.5), "visibility-each-p50-ms")
	b.ReportMetric(pct(each, 0.99), "visibility-each-p99-ms")
	b.ReportMetric(float64(busy[0].ct.Reads.Load()+busy[1].ct.Reads.Load()-readsBefore[0]-readsBefore[1])/2/busySeconds, "feed-reads/s-busy")
	b.ReportMetric(float64(idle.ct.Reads.Load()-readsBefore[2])/busySeconds, "feed-reads/s-idle")

	// Writes per request of a rate-limited token, the three rates side by side, each on
	// its own instance and token, counted at its SDK transport.
	rates := []int{10, 100, 1000}
	seconds := 6.0
	if short {
		seconds = 0.2
	}
	perRequest := make([]float64, len(rates))
	var wg sync.WaitGroup
	for k, rate := range rates {
		c := f.create(b, token.CreateInput{RateLimit: &restriction.RateLimit{Limit: 100_000, Per: "minute"}})
		s := c.Plaintext.Reveal()
		leases, ct := localtest.Counted(b, f.table)
		a := authorizer.New(authorizer.Config{Tokens: f.table, Leases: leases, Feed: f.table, Keys: f.svc.Keys,
			Catalog: f.svc.Catalog, Prefix: "tg", CacheTTL: cacheTTL, Log: io.Discard})
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int(seconds * float64(rate))
			every := time.Second / time.Duration(rate)
			begin := time.Now()
			for i := 0; i < n; i++ {
				if wait := time.Until(begin.Add(time.Duration(i) * every)); wait > 0 {
					time.Sleep(wait)
				}
				if !allow(a, s).Allow {
					b.Error("rate-limited token refused below its limit")
					return
				}
			}
			perRequest[k] = float64(ct.Writes.Load()) / float64(n)
		}()
	}
	wg.Wait()
	b.StopTimer()
	for k, rate := range rates {
		b.ReportMetric(perRequest[k], "writes/request-at-"+strconv.Itoa(rate)+"/s")
	}
}
