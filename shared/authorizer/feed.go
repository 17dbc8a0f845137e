package authorizer

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tokengate/shared/token"
)

// Feed reads the change feed (shared/store implements it): every write that changes a
// token or a principal also records, in the same transaction, which one changed and
// when (docs/table-design.md, "Change feed").
type Feed interface {
	// ReadFeed calls each for every change stamped at or after since, in the feed's
	// time buckets up to until; kind is FeedToken or FeedPrincipal, id the token's or
	// the principal's id. Changes in the overlap are read again by the next call.
	ReadFeed(ctx context.Context, since, until time.Time, each func(kind, id string, at time.Time)) error
}

// The kinds of feed entries.
const (
	FeedToken     = "token"
	FeedPrincipal = "principal"
)

// Feed timing, when Config leaves it zero.
const (
	// DefaultFeedInterval: an instance that serves requests reads the feed at most this
	// often, and not at all while idle.
	DefaultFeedInterval = time.Second
	// DefaultFeedOverlap: each read starts this long before the previous one did, so a
	// writer's clock behind the reader's, or a commit slower than its stamp, is still read.
	DefaultFeedOverlap = 2 * time.Second
	// feedTimeout bounds one feed read: a read slower than this is a failed one (the
	// caches fall back to the cache TTL), so that a stalled table costs a request the
	// feed's second before its own reads, never a second whole call budget.
	feedTimeout = time.Second
	// feedPurgeAbove: a read that returns more changes than this empties the caches
	// rather than matching each entry (a burst of revocations).
	feedPurgeAbove = 1000
)

// feedState is an instance's position in the feed.
type feedState struct {
	src      Feed
	clock    func() time.Time // nil: the decision's time, which is time.Now
	interval time.Duration
	overlap  time.Duration
	cacheTTL time.Duration

	mu        sync.Mutex   // held while a read runs
	watermark atomic.Int64 // Unix ns: the start of the last read that succeeded (0: none yet)
	attempted atomic.Int64 // Unix ns: the start of the last read, failed or not
	failing   atomic.Bool  // the last read failed: the caches fall back to CacheTTL
}

// feedWait says how long the watermark may lag behind the clock before a request waits
// for a read under way instead of answering from the caches: a change is then never
// served from a cache for longer than interval × 1.5 plus one read.
func feedWait(interval time.Duration) time.Duration { return interval + interval/2 }

// feedPlan is what a request does about the feed at now, from the state's times (zero:
// never): start the watermark (first request: the caches are empty, nothing to read),
// read (due: the last attempt is interval old), and whether a request that finds a read
// under way waits for it (the watermark is older than feedWait; never while the feed
// fails, whose bound is the cache TTL).
func feedPlan(now, watermark, attempted time.Time, interval time.Duration, failing bool) (start, read, wait bool) {
	if watermark.IsZero() && attempted.IsZero() {
		return true, false, false
	}
	read = now.Sub(attempted) >= interval
	wait = !failing && now.Sub(watermark) >= feedWait(interval)
	return false, read, wait
}

// feedSince is where a read starts: overlap before the previous read began, but never
// earlier than the oldest cache entry can be (cacheTTL ago, less the overlap): a change
// older than that was read from the table by every entry still cached.
func feedSince(watermark, now time.Time, overlap, cacheTTL time.Duration) time.Time {
	since := watermark.Add(-overlap)
	if floor := now.Add(-cacheTTL - overlap); since.Before(floor) {
		since = floor
	}
	return since
}

// changeSet is what a feed read found: tokens and principals changed.
type changeSet struct {
	tokens     map[token.ID]bool
	principals map[string]bool // principal ids
	n          int
}

func (c *changeSet) add(kind, id string) {
	switch kind {
	case FeedToken:
		if c.tokens == nil {
			c.tokens = map[token.ID]bool{}
		}
		c.tokens[token.ID(id)] = true
	case FeedPrincipal:
		if c.principals == nil {
			c.principals = map[string]bool{}
		}
		c.principals[id] = true
	default:
		return // a kind this build does not know: a newer writer; its TTL still bounds it
	}
	c.n++
}

// purge reports whether the set is so large that emptying the caches costs less than
// matching each entry.
func (c *changeSet) purge() bool { return c.n > feedPurgeAbove }

// drops reports whether a cached decision on t (its owner ownerID, its lineage ancestors
// and the tokens it lives with endsWith) is stale after the changes: the token itself,
// its owner or any token it descends from changed.
func (c *changeSet) drops(t token.ID, ownerID string, ancestors, endsWith []token.ID) bool {
	if c.tokens[t] || c.principals[ownerID] {
		return true
	}
	for _, id := range ancestors {
		if c.tokens[id] {
			return true
		}
	}
	for _, id := range endsWith {
		if c.tokens[id] {
			return true
		}
	}
	return false
}

// syncFeed brings the caches up to the feed before a request uses them: the one request
// that finds a read due does it, others go on unless the watermark lags more than
// feedWait (an instance back from idle: its first request reads before it answers). A
// read that fails is logged; the caches then hold entries no longer than CacheTTL, as
// they always do, and the next request a second later tries again.
// now is the decision's time when the feed runs on the real clock too (nil FeedClock, nil
// Now): a cache hit then reads the clock once.
func (a *Authorizer) syncFeed(ctx context.Context, now time.Time) {
	f := a.feed
	for try := 0; try < 2; try++ { // after waiting for a read, once more: it may have been an old one
		if try > 0 || f.clock != nil {
			now = f.feedClock()
		}
		start, read, wait := feedPlan(now, unixTime(f.watermark.Load()), unixTime(f.attempted.Load()), f.interval, f.failing.Load())
		switch {
		case start:
			if f.mu.TryLock() {
				if f.attempted.Load() == 0 {
					f.watermark.Store(now.UnixNano())
					f.attempted.Store(now.UnixNano())
				}
				f.mu.Unlock()
			}
			return
		case read && f.mu.TryLock():
			a.readFeed(ctx)
			f.mu.Unlock()
			return
		case wait:
			f.mu.Lock() // a read is under way: answer after it
			f.mu.Unlock()
		default:
			return
		}
	}
}

// readFeed reads the feed once (f.mu held) and applies what changed.
func (a *Authorizer) readFeed(ctx context.Context) {
	f := a.feed
	now := f.feedClock()
	if now.Sub(unixTime(f.attempted.Load())) < f.interval {
		return // another request read meanwhile
	}
	f.attempted.Store(now.UnixNano())
	var changes changeSet
	since := feedSince(unixTime(f.watermark.Load()), now, f.overlap, f.cacheTTL)
	rctx, cancel := context.WithTimeout(ctx, feedTimeout)
	err := f.src.ReadFeed(rctx, since, now.Add(f.overlap), func(kind, id string, _ time.Time) { changes.add(kind, id) })
	cancel()
	if err != nil {
		if !f.failing.Swap(true) {
			slog.WarnContext(ctx, "authorizer change feed unreadable: cached decisions fall back to the cache TTL", "err", err)
		}
		return
	}
	if f.failing.Swap(false) {
		slog.InfoContext(ctx, "authorizer change feed readable again")
	}
	a.apply(&changes)
	f.watermark.Store(now.UnixNano())
}

// apply drops from the caches what the changes make stale.
func (a *Authorizer) apply(c *changeSet) {
	if c.n == 0 {
		return
	}
	if c.purge() {
		a.tokens.Purge()
		a.owners.Purge()
		a.ancestors.Purge()
		a.unknown.Purge()
		return
	}
	for _, k := range a.tokens.Keys() {
		if e, ok := a.tokens.Peek(k); ok && c.drops(e.t.ID, e.t.OwnerID, e.t.Ancestors, e.t.EndsWith) {
			a.tokens.Remove(k)
		}
	}
	for id := range c.tokens {
		a.ancestors.Remove(id)
		a.unknown.Remove(id)
	}
	for id := range c.principals {
		a.owners.Remove(token.OwnerRef(id))
	}
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func newFeedState(cfg Config, realClock bool) *feedState {
	f := &feedState{src: cfg.Feed, clock: cfg.FeedClock, interval: cfg.FeedInterval, overlap: cfg.FeedOverlap, cacheTTL: cfg.CacheTTL}
	if f.clock == nil && !realClock {
		f.clock = time.Now // the decisions' clock is another: the feed keeps the real one
	}
	if f.interval <= 0 {
		f.interval = DefaultFeedInterval
	}
	if f.overlap <= 0 {
		f.overlap = DefaultFeedOverlap
	}
	return f
}

func (f *feedState) feedClock() time.Time {
	if f.clock == nil {
		return time.Now()
	}
	return f.clock()
}
