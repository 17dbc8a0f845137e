package authorizer

import (
	"context"
	"math"
	"sync"
	"time"

	"tokengate/shared/restriction"
)

// RateLeaser leases slices of a rate window's budget (shared/store implements it on the
// item every instance counts in): one conditional write takes up to n requests, and the
// instance spends them from memory. A lease never spent is lost, never given back, so
// the window never allows more than its limit across every instance.
type RateLeaser interface {
	// LeaseRate adds up to n to the count of key's window (starting at window, per
	// long) without passing limit, and returns how many it added: n, less when fewer are
	// left (the remainder), 0 when the window's budget is spent.
	LeaseRate(ctx context.Context, key restriction.Key, window time.Time, per time.Duration, limit, n int) (int, error)
}

// Lease sizing.
const (
	// leaseHorizon: a lease covers about this much of the instance's demand, so a busy
	// token costs about one write per instance per horizon whatever its rate.
	leaseHorizon = 2 * time.Second
	// leaseShare: no lease takes more than limit/leaseShare, so an instance that goes
	// idle strands at most that share of a window's budget.
	leaseShare = 8
	// leaseGrowth bounds how fast a lease grows from one to the next.
	leaseGrowth = 4
)

// leaseSize is how many requests to lease at now for a window that ends at end with
// limit, given the last lease's size prev (0: none yet) and the instance's demand rate
// in requests per second (+Inf: the last lease went in no measurable time): about
// leaseHorizon of demand, no more than the demand left in the window, at most
// leaseGrowth × prev and limit/leaseShare, at least 1.
func leaseSize(prev int, rate float64, now, end time.Time, limit int) int {
	want := math.Ceil(rate * leaseHorizon.Seconds())
	if left := end.Sub(now); left < leaseHorizon {
		want = math.Ceil(rate * left.Seconds())
	}
	n := limit / leaseShare
	if prev > 0 && float64(prev*leaseGrowth) < float64(n) {
		n = prev * leaseGrowth
	}
	if !math.IsInf(want, 1) && !math.IsNaN(want) && want < float64(n) {
		n = int(want)
	}
	return max(1, min(n, limit))
}

// demand is the rate at which a lease of n taken at from was spent by now.
func demand(n int, from, now time.Time) float64 {
	d := now.Sub(from).Seconds()
	if d <= 0 {
		return math.Inf(1)
	}
	return float64(n) / d
}

// leaseKey is one counter: its key (a token's or an ancestor's) and its window length.
type leaseKey struct {
	key restriction.Key
	per time.Duration
}

// lease is what an instance holds of one counter's current window.
type lease struct {
	mu      sync.Mutex
	window  time.Time // the window it belongs to
	left    int       // leased and not spent
	spent   bool      // the window's budget is all leased: refuse until it ends
	size    int       // the last lease's size
	takenAt time.Time // when it was taken
	rate    float64   // the demand it measured, requests per second
}

// leases holds an instance's leases.
type leases struct {
	store RateLeaser
	max   int // entries kept before those of ended windows are dropped

	mu sync.Mutex
	m  map[leaseKey]*lease
}

func (ls *leases) get(k leaseKey, now time.Time) *lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.m == nil {
		ls.m = map[leaseKey]*lease{}
	}
	l := ls.m[k]
	if l == nil {
		if len(ls.m) >= ls.max {
			for k, old := range ls.m {
				if old.mu.TryLock() {
					if !now.Before(old.window.Add(k.per)) {
						delete(ls.m, k)
					}
					old.mu.Unlock()
				}
			}
		}
		l = &lease{}
		ls.m[k] = l
	}
	return l
}

// take spends one request of key's counter (limit rl) at now, leasing more when the
// instance holds none: false when the window's budget is spent.
func (ls *leases) take(ctx context.Context, key restriction.Key, rl restriction.RateLimit, now time.Time) (bool, error) {
	per := rl.Window()
	l := ls.get(leaseKey{key: key, per: per}, now)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := now.UTC().Truncate(per)
	if !l.window.Equal(w) {
		l.window, l.left, l.spent = w, 0, false // what was left of the last window is lost
	}
	if l.left > 0 {
		l.left--
		return true, nil
	}
	if l.spent {
		return false, nil
	}
	if l.size > 0 {
		l.rate = demand(l.size, l.takenAt, now)
	}
	n := leaseSize(l.size, l.rate, now, w.Add(per), rl.Limit)
	got, err := ls.store.LeaseRate(ctx, key, w, per, rl.Limit, n)
	if err != nil {
		return false, err
	}
	l.takenAt = now
	if got < n {
		l.spent = true // the rest of the window's budget is leased (some of it, maybe, here)
	}
	if got <= 0 {
		return false, nil
	}
	l.size, l.left = got, got-1
	return true, nil
}
