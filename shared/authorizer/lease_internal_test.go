package authorizer

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/restriction"
)

func TestLeaseSize(t *testing.T) {
	inf := math.Inf(1)
	end := t0.Add(time.Minute)
	for _, tt := range []struct {
		name  string
		prev  int
		rate  float64
		now   time.Time
		limit int
		want  int
	}{
		{"first lease: one", 0, 0, t0, 1000, 1},
		{"two seconds of demand", 8, 10, t0, 1000, 20},
		{"two seconds of demand, rounded up", 8, 10.2, t0, 1000, 21},
		{"at most four times the last one", 2, 100, t0, 1000, 8},
		{"at most an eighth of the limit", 100, 500, t0, 1000, 125},
		{"spent in no measurable time: the cap", 5000, inf, t0, 100_000, 12_500},
		{"near the window's end: the demand left in it", 100, 100, end.Add(-300 * time.Millisecond), 100_000, 30},
		{"sooner than the horizon", 100, 100, end.Add(-1500 * time.Millisecond), 100_000, 150},
		{"at the end: at least one", 100, 100, end, 100_000, 1},
		{"a small limit: one at a time", 4, 100, t0, 5, 1},
		{"idle: one", 10, 0.01, t0, 1000, 1},
		{"never more than the limit", 10, inf, t0, 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, leaseSize(tt.prev, tt.rate, tt.now, end, tt.limit))
		})
	}
	require.True(t, math.IsInf(demand(5, t0, t0), 1))
	require.InDelta(t, 10.0, demand(5, t0, t0.Add(500*time.Millisecond)), 1e-9)
}

// counter is the window counts a RateLeaser keeps, in memory, with a count of its writes.
type counter struct {
	mu     sync.Mutex
	counts map[string]int
	writes int
	err    error
}

func (c *counter) LeaseRate(_ context.Context, key restriction.Key, window time.Time, _ time.Duration, limit, n int) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.err != nil {
		return 0, c.err
	}
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	k := string(key) + window.String()
	got := min(n, limit-c.counts[k])
	c.counts[k] += got
	return got, nil
}

func TestLeasesTake(t *testing.T) {
	ctx := context.Background()
	rl := restriction.RateLimit{Limit: 100, Per: "minute"}
	store := &counter{}
	a, b := &leases{store: store, max: 10}, &leases{store: store, max: 10}
	now := t0
	var allowed int
	for i := 0; i < 300; i++ {
		ls := []*leases{a, b}[i%2]
		ok, err := ls.take(ctx, "tok", rl, now)
		require.NoError(t, err)
		if ok {
			allowed++
		}
		now = now.Add(time.Millisecond)
	}
	require.Equal(t, 100, allowed, "exactly the limit: both kept asking")
	require.Less(t, store.writes, 20)
	w := store.writes
	for i := 0; i < 10; i++ {
		ok, err := a.take(ctx, "tok", rl, now)
		require.NoError(t, err)
		require.False(t, ok)
	}
	require.Equal(t, w, store.writes, "a spent window costs no write")

	now = t0.Add(time.Minute)
	ok, err := a.take(ctx, "tok", rl, now)
	require.NoError(t, err)
	require.True(t, ok, "the next window")

	store.err = errors.New("throttled")
	_, err = b.take(ctx, "tok", rl, now)
	require.Error(t, err, "fails closed")
	store.err = nil

	for i := 0; i < 20; i++ { // more keys than max: those of ended windows go
		_, err := a.take(ctx, restriction.Key(rune('a'+i)), rl, t0.Add(time.Duration(i)*time.Hour))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(a.m), 11)
}

// TestTakeRateWithLeases: the authorizer's rate check through leases, and without any
// counter (fails closed).
func TestTakeRateWithLeases(t *testing.T) {
	ctx := context.Background()
	a := New(Config{Leases: &counter{}})
	rl := restriction.RateLimit{Limit: 2, Per: "second"}
	for i, want := range []bool{true, true, false} {
		_, ok := a.takeRate(ctx, "tok", "tok", rl, t0)
		require.Equal(t, want, ok, i)
	}
	d, ok := a.takeRate(ctx, "tok", "tok", rl, t0.Add(time.Second))
	require.True(t, ok, d.Reason)
	d, ok = New(Config{}).takeRate(ctx, "tok", "tok", rl, t0)
	require.False(t, ok)
	require.Equal(t, ReasonStoreFailed, d.Reason)
	d, ok = New(Config{Leases: &counter{err: errors.New("down")}}).takeRate(ctx, "tok", "tok", rl, t0)
	require.False(t, ok)
	require.Equal(t, ReasonStoreFailed, d.Reason)
}
