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

// Usage counts the uses of tokens in memory and writes them at most once per token per
// Every: a write on every request would put a DynamoDB write on every call an API
// serves. A token's first use is written at once, so "Never" turns into a time at once.
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
	flushed time.Time
}

// Record counts one use of t at now from ip, and writes the count when it is due.
func (u *Usage) Record(ctx context.Context, t *token.Token, now time.Time, ip string) {
	u.mu.Lock()
	if u.pending == nil {
		u.pending = map[token.ID]*pendingUse{}
	}
	p := u.pending[t.ID]
	if p == nil {
		p = &pendingUse{}
		u.pending[t.ID] = p
	}
	p.n++
	p.at, p.ip = now, ip
	due := (t.LastUsedAt.IsZero() && p.flushed.IsZero()) || now.Sub(p.flushed) >= u.Every
	var n int64
	if due {
		n, p.n, p.flushed = p.n, 0, now
	}
	u.mu.Unlock()
	if due {
		u.write(ctx, t.ID, n, now, ip)
	}
}

// Flush writes every pending count: on shutdown, so no use is lost.
func (u *Usage) Flush(ctx context.Context) {
	u.mu.Lock()
	type w struct {
		id token.ID
		p  pendingUse
	}
	var todo []w
	for id, p := range u.pending {
		if p.n > 0 {
			todo = append(todo, w{id, *p})
			p.n = 0
		}
	}
	u.mu.Unlock()
	for _, x := range todo {
		u.write(ctx, x.id, x.p.n, x.p.at, x.p.ip)
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
