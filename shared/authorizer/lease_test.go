package authorizer_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/authorizer"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// TestLeasedRateLimitIsExact: several instances on one table send concurrent requests of
// one rate-limited token: in every window they allow exactly the limit when demand
// exceeds it (every instance kept asking, so none holds an unspent lease), never more,
// and the writes, counted at the SDK transport, are a small fraction of the requests.
func TestLeasedRateLimitIsExact(t *testing.T) {
	f := newFixture(t, 0)
	tb, ct := localtest.Counted(t, f.table)
	const instances, workers, limit = 3, 4, 600
	c := f.create(t, token.CreateInput{RateLimit: &restriction.RateLimit{Limit: limit, Per: "minute"}})
	s := c.Plaintext.Reveal()
	var as []*authorizer.Authorizer
	for i := 0; i < instances; i++ {
		a := authorizer.New(authorizer.Config{Tokens: f.table, Leases: tb, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL})
		as = append(as, a)
	}
	for window := 0; window < 3; window++ {
		w0 := ct.Writes.Load()
		var allowedN, requests atomic.Int64
		var wg sync.WaitGroup
		for _, a := range as {
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Ask until refused, then a few more: demand beyond the limit.
					for refusals := 0; refusals < 5; {
						requests.Add(1)
						d := allow(a, s)
						switch {
						case d.Allow:
							allowedN.Add(1)
						case d.Reason == authorizer.ReasonRateLimited:
							refusals++
						default:
							t.Errorf("refused: %s", d.Reason)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		writes := ct.Writes.Load() - w0
		t.Logf("window %d: %d requests, %d allowed, %d writes (%.3f per allowed request)", window, requests.Load(), allowedN.Load(), writes, float64(writes)/float64(allowedN.Load()))
		require.EqualValues(t, limit, allowedN.Load(), "exactly the limit in window %d", window)
		require.LessOrEqual(t, float64(writes), 0.1*float64(allowedN.Load()), "at most one write per ten allowed requests")
		f.clock.Add(time.Minute)
	}
}

// TestLeasedRateLimitBelowTheLimit: demand within the limit is all allowed, over
// instances that each see only part of it.
func TestLeasedRateLimitBelowTheLimit(t *testing.T) {
	f := newFixture(t, 0)
	c := f.create(t, token.CreateInput{RateLimit: &restriction.RateLimit{Limit: 1000, Per: "minute"}})
	s := c.Plaintext.Reveal()
	var allowedN atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		a := authorizer.New(authorizer.Config{Tokens: f.table, Leases: f.table, Keys: f.svc.Keys, Catalog: f.svc.Catalog,
			Prefix: "tg", Now: f.clock.Now, CacheTTL: cacheTTL})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if allow(a, s).Allow {
					allowedN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 400, allowedN.Load())
}
