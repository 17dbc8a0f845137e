package authorizer

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tokengate/shared/token"
)

// UsageStore adds uses to a token atomically (shared/store implements it).
type UsageStore interface {
	RecordUse(ctx context.Context, id token.ID, n int64, at time.Time, ip string) error
}

// Usage counts the uses of tokens in memory; FlushDue writes them, never a decision:
// a write on every request would put a DynamoDB write on every call an API serves, and
// a write before answering would delay the answer. A count is due when the token was
// never used before (so "Never" turns into a time within seconds) or when Every has
// passed since its last write. Whoever runs the authorizer calls FlushDue after
// answering: on Lambda after every invocation (boot's internal extension), in the local
// gateway on a ticker; and Flush on shutdown, so no use is lost.
type Usage struct {
	Store UsageStore
	Every time.Duration

	mu      sync.Mutex
	pending map[token.ID]*pendingUse
}

type pendingUse struct {
	n       int64
	at      time.Time
	ip      string
	first   bool // the token had never been used when this count started
	flushed time.Time
}

// Record counts one use of t at now from ip. It never writes.
func (u *Usage) Record(t *token.Token, now time.Time, ip string) {
	u.mu.Lock()
	if u.pending == nil {
		u.pending = map[token.ID]*pendingUse{}
	}
	p := u.pending[t.ID]
	if p == nil {
		p = &pendingUse{first: t.LastUsedAt.IsZero(), flushed: now}
		u.pending[t.ID] = p
	}
	p.n++
	p.at, p.ip = now, ip
	u.mu.Unlock()
}

// FlushDue writes every count that is due at now, whatever token it is for.
func (u *Usage) FlushDue(ctx context.Context, now time.Time) {
	u.flush(ctx, func(p *pendingUse) bool { return p.first || now.Sub(p.flushed) >= u.Every }, now)
}

// Flush writes every pending count: on shutdown, so no use is lost.
func (u *Usage) Flush(ctx context.Context) {
	u.flush(ctx, func(*pendingUse) bool { return true }, time.Time{})
}

// Pending reports how many uses are counted but not written yet.
func (u *Usage) Pending() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	var n int64
	for _, p := range u.pending {
		n += p.n
	}
	return n
}

func (u *Usage) flush(ctx context.Context, due func(*pendingUse) bool, now time.Time) {
	type w struct {
		id token.ID
		p  pendingUse
	}
	var todo []w
	u.mu.Lock()
	for id, p := range u.pending {
		if p.n == 0 && !now.IsZero() && now.Sub(p.flushed) >= u.Every {
			delete(u.pending, id) // idle: forget it, so the map holds only tokens in use
			continue
		}
		if p.n > 0 && due(p) {
			todo = append(todo, w{id, *p})
			p.n, p.first = 0, false
			if !now.IsZero() {
				p.flushed = now
			}
		}
	}
	u.mu.Unlock()
	for _, x := range todo {
		u.write(ctx, x.id, x.p.n, x.p.at, x.p.ip)
	}
}

// Run calls FlushDue every tick until ctx ends, then Flush: for a long-lived server
// such as the local gateway.
func (u *Usage) Run(ctx context.Context, tick time.Duration, now func() time.Time) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			u.Flush(flush)
			cancel()
			return
		case <-t.C:
			u.FlushDue(ctx, now())
		}
	}
}

func (u *Usage) write(ctx context.Context, id token.ID, n int64, at time.Time, ip string) {
	if err := u.Store.RecordUse(ctx, id, n, at, ip); err != nil {
		slog.WarnContext(ctx, "usage not recorded; kept for the next flush", "tokenId", string(id), "uses", n, "err", err)
		u.mu.Lock()
		if p := u.pending[id]; p != nil {
			p.n += n
		}
		u.mu.Unlock()
	}
}
