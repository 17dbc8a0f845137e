package authorizer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
	"tokengate/shared/token"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func TestFeedPlan(t *testing.T) {
	s := time.Second
	for _, tt := range []struct {
		name                 string
		now, wm, attempted   time.Time
		failing              bool
		start, read, waitFor bool
	}{
		{"first request: start the watermark, nothing to read", t0, time.Time{}, time.Time{}, false, true, false, false},
		{"read half a second ago: nothing", t0, t0.Add(-s / 2), t0.Add(-s / 2), false, false, false, false},
		{"a second ago: read; others go on", t0, t0.Add(-s), t0.Add(-s), false, false, true, false},
		{"back from idle: read, others wait", t0, t0.Add(-10 * s), t0.Add(-10 * s), false, false, true, true},
		{"1.5 s behind: others wait", t0, t0.Add(-3 * s / 2), t0.Add(-s), false, false, true, true},
		{"failing, tried lately: no read, no wait", t0, t0.Add(-10 * s), t0.Add(-s / 2), true, false, false, false},
		{"failing, tried a second ago: read, nobody waits", t0, t0.Add(-10 * s), t0.Add(-s), true, false, true, false},
		{"the feed clock went back: no read", t0, t0.Add(s), t0.Add(s), false, false, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start, read, wait := feedPlan(tt.now, tt.wm, tt.attempted, s, tt.failing)
			require.Equal(t, []bool{tt.start, tt.read, tt.waitFor}, []bool{start, read, wait})
		})
	}
}

func TestFeedSince(t *testing.T) {
	for _, tt := range []struct {
		name string
		wm   time.Time
		want time.Time
	}{
		{"overlap before the last read", t0.Add(-time.Second), t0.Add(-3 * time.Second)},
		{"a long gap: never before the oldest entry the caches can hold", t0.Add(-time.Hour), t0.Add(-32 * time.Second)},
		{"just within", t0.Add(-30 * time.Second), t0.Add(-32 * time.Second)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, feedSince(tt.wm, t0, 2*time.Second, 30*time.Second))
		})
	}
	require.Equal(t, 3*time.Second/2, feedWait(time.Second))
}

func TestChangeSetDrops(t *testing.T) {
	var c changeSet
	c.add(FeedToken, "tok1")
	c.add(FeedPrincipal, "alice")
	c.add("future-kind", "x")
	require.Equal(t, 2, c.n, "an unknown kind is not counted")
	for _, tt := range []struct {
		name      string
		id        token.ID
		owner     string
		ancestors []token.ID
		endsWith  []token.ID
		drop      bool
	}{
		{"the token", "tok1", "bob", nil, nil, true},
		{"its owner", "tok2", "alice", nil, nil, true},
		{"an ancestor", "tok3", "bob", []token.ID{"tok0", "tok1"}, nil, true},
		{"a token it lives with", "tok4", "bob", nil, []token.ID{"tok1"}, true},
		{"unrelated", "tok5", "bob", []token.ID{"tok0"}, []token.ID{"tok0"}, false},
		{"the kind that was not known", "x", "x", nil, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.drop, c.drops(tt.id, tt.owner, tt.ancestors, tt.endsWith))
		})
	}
	require.False(t, c.purge())
	for i := 0; i < feedPurgeAbove; i++ {
		c.add(FeedToken, fmt.Sprint("t", i))
	}
	require.True(t, c.purge(), "a burst: empty the caches")
}

// funcFeed is a Feed made of a function: the authorizer's side of the interface only.
type funcFeed func(since, until time.Time, each func(kind, id string, at time.Time)) error

func (f funcFeed) ReadFeed(_ context.Context, since, until time.Time, each func(kind, id string, at time.Time)) error {
	return f(since, until, each)
}

// feedClock is a settable clock.
type feedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *feedClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *feedClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func entry(t *token.Token) *cached       { return &cached{t: t, expires: t0.Add(time.Hour)} }
func key(id string, mac byte) presentedKey {
	k := presentedKey{}
	copy(k.id[:], id)
	k.mac[0] = mac
	return k
}
func tok(id, owner string, anc ...string) *token.Token {
	t := &token.Token{ID: token.ID(id), OwnerID: owner}
	for _, a := range anc {
		t.Ancestors = append(t.Ancestors, token.ID(a))
	}
	return t
}

// TestSyncFeed drives syncFeed on a settable clock: when it reads, from where, what it
// drops, how a failure leaves the watermark.
func TestSyncFeed(t *testing.T) {
	clock := &feedClock{now: t0}
	type read struct{ since, until time.Time }
	var (
		reads   []read
		changes [][2]string
		fail    error
	)
	feed := funcFeed(func(since, until time.Time, each func(kind, id string, at time.Time)) error {
		reads = append(reads, read{since, until})
		if fail != nil {
			return fail
		}
		for _, c := range changes {
			each(c[0], c[1], since)
		}
		return nil
	})
	a := New(Config{Feed: feed, FeedClock: clock.Now, CacheTTL: 30 * time.Second})
	fill := func() {
		a.tokens.Add(key("tok1", 1), entry(tok("tok1", "alice")))
		a.tokens.Add(key("tok1", 2), entry(tok("tok1", "alice"))) // another secret presented
		a.tokens.Add(key("tok2", 1), entry(tok("tok2", "bob", "tok1")))
		a.tokens.Add(key("tok3", 1), entry(tok("tok3", "carol")))
		a.owners.Add(token.OwnerRef("carol"), cachedOwner{p: &access.Principal{ID: "carol"}})
		a.ancestors.Add("tok1", cachedAncestor{t: tok("tok1", "alice")})
		a.unknown.Add("tok1", t0)
	}
	ctx := context.Background()
	fill()
	a.syncFeed(ctx, clock.Now())
	require.Empty(t, reads, "the first request starts the watermark")
	clock.Add(500 * time.Millisecond)
	a.syncFeed(ctx, clock.Now())
	require.Empty(t, reads, "within the interval")
	clock.Add(500 * time.Millisecond)
	a.syncFeed(ctx, clock.Now())
	require.Equal(t, []read{{t0.Add(-2 * time.Second), t0.Add(3 * time.Second)}}, reads, "overlap before the watermark, buckets to now+overlap")
	require.Equal(t, 4, a.tokens.Len(), "nothing changed, nothing dropped")

	changes = [][2]string{{FeedToken, "tok1"}}
	clock.Add(time.Second)
	a.syncFeed(ctx, clock.Now())
	require.Len(t, reads, 2)
	require.Equal(t, t0.Add(-time.Second), reads[1].since)
	require.Equal(t, []presentedKey{key("tok3", 1)}, a.tokens.Keys(), "the token under both secrets and its descendant dropped")
	_, ok := a.ancestors.Peek("tok1")
	require.False(t, ok)
	_, ok = a.unknown.Peek("tok1")
	require.False(t, ok)

	changes = [][2]string{{FeedPrincipal, "carol"}}
	fill()
	clock.Add(time.Second)
	a.syncFeed(ctx, clock.Now())
	require.Equal(t, 3, a.tokens.Len(), "carol's token dropped")
	require.Zero(t, a.owners.Len(), "and carol")

	fail = errors.New("throttled")
	clock.Add(time.Second)
	a.syncFeed(ctx, clock.Now())
	require.True(t, a.feed.failing.Load())
	clock.Add(time.Second)
	fail = nil
	changes = nil
	a.syncFeed(ctx, clock.Now())
	require.Equal(t, t0.Add(time.Second), reads[len(reads)-1].since, "a failed read does not move the watermark")
	require.False(t, a.feed.failing.Load())

	changes = nil
	for i := 0; i <= feedPurgeAbove; i++ {
		changes = append(changes, [2]string{FeedToken, fmt.Sprint("other", i)})
	}
	fill()
	clock.Add(time.Second)
	a.syncFeed(ctx, clock.Now())
	require.Zero(t, a.tokens.Len()+a.owners.Len()+a.ancestors.Len()+a.unknown.Len(), "a burst empties every cache")
}

// TestSyncFeedWaits: a request that finds a read under way goes on while the watermark
// is fresh, and waits for it when the instance comes back from idle.
func TestSyncFeedWaits(t *testing.T) {
	clock := &feedClock{now: t0}
	release := make(chan struct{}) // one send lets one read finish
	inRead := make(chan struct{}, 1)
	feed := funcFeed(func(_, _ time.Time, _ func(kind, id string, at time.Time)) error {
		inRead <- struct{}{}
		<-release
		return nil
	})
	a := New(Config{Feed: feed, FeedClock: clock.Now, CacheTTL: 30 * time.Second})
	ctx := context.Background()
	a.syncFeed(ctx, clock.Now()) // start
	clock.Add(time.Second)
	var first sync.WaitGroup
	first.Add(1)
	go func() { a.syncFeed(ctx, clock.Now()); first.Done() }()
	<-inRead
	done := make(chan struct{})
	go func() { a.syncFeed(ctx, clock.Now()); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("a request waited while the watermark was fresh")
	}
	release <- struct{}{}
	first.Wait()

	clock.Add(10 * time.Second) // idle
	go a.syncFeed(ctx, clock.Now())
	<-inRead
	done = make(chan struct{})
	go func() { a.syncFeed(ctx, clock.Now()); close(done) }()
	select {
	case <-done:
		t.Fatal("back from idle, a request answered before the read")
	case <-time.After(50 * time.Millisecond):
	}
	release <- struct{}{}
	<-done
}
