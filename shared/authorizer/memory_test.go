package authorizer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/fault"
	"tokengate/shared/restriction"
	"tokengate/shared/token"
)

// The authorizer's own ports (Tokens, restriction.RateCounter, UsageStore) in memory, for the
// tests and examples that need no stack. They are the domain interfaces the authorizer
// declares, not DynamoDB: shared/store implements them on the table, and the tests on
// DynamoDB Local hold it to the same behaviour.

// memTokens holds tokens and principals and counts the round trips the authorizer makes.
// Every read returns a copy, as a store does, so a change is seen only by a new read.
type memTokens struct {
	mu     sync.Mutex
	tokens map[token.ID]token.Token
	owners map[string]access.Principal // by owner reference, as the table keys them
	// The round trips, by kind: Get, GetWithOwner, GetMany.
	gets, withOwner, many int
	err                   error // when set, every read fails with it
	manyErr               error // when set, GetMany fails with it
}

var _ authorizer.Tokens = (*memTokens)(nil)

func newMemTokens() *memTokens {
	return &memTokens{tokens: map[token.ID]token.Token{}, owners: map[string]access.Principal{}}
}

func (m *memTokens) Get(_ context.Context, id token.ID) (*token.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.err != nil {
		return nil, m.err
	}
	t, ok := m.tokens[id]
	if !ok {
		return nil, fault.ErrNotFound
	}
	return &t, nil
}

// GetWithOwner reads the owner by the id's owner reference, as the table does; an owner
// whose id is not the token's is none.
func (m *memTokens) GetWithOwner(_ context.Context, id token.ID) (*token.Token, *access.Principal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.withOwner++
	if m.err != nil {
		return nil, nil, m.err
	}
	t, ok := m.tokens[id]
	if !ok {
		return nil, nil, fault.ErrNotFound
	}
	p, ok := m.owners[id.OwnerRef()]
	if !ok || p.ID != t.OwnerID {
		return &t, nil, nil
	}
	return &t, &p, nil
}

func (m *memTokens) GetMany(_ context.Context, ids []token.ID) (map[token.ID]*token.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.many++
	if m.err != nil {
		return nil, m.err
	}
	if m.manyErr != nil {
		return nil, m.manyErr
	}
	out := map[token.ID]*token.Token{}
	for _, id := range ids {
		if t, ok := m.tokens[id]; ok {
			out[id] = &t
		}
	}
	return out, nil
}

func (m *memTokens) putToken(t *token.Token) {
	m.mu.Lock()
	m.tokens[t.ID] = *t
	m.mu.Unlock()
}

func (m *memTokens) putOwner(p *access.Principal) {
	m.mu.Lock()
	m.owners[token.OwnerRef(p.ID)] = *p
	m.mu.Unlock()
}

func (m *memTokens) deleteOwner(id string) {
	m.mu.Lock()
	delete(m.owners, token.OwnerRef(id))
	m.mu.Unlock()
}

func (m *memTokens) deleteToken(id token.ID) {
	m.mu.Lock()
	delete(m.tokens, id)
	m.mu.Unlock()
}

// change changes a stored token as the API does: a new version.
func (m *memTokens) change(id token.ID, f func(t *token.Token)) {
	m.mu.Lock()
	t := m.tokens[id]
	f(&t)
	t.Version++
	m.tokens[id] = t
	m.mu.Unlock()
}

func (m *memTokens) roundTrips() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gets + m.withOwner + m.many
}

// reads is the round trips by kind: Get, GetWithOwner, GetMany.
func (m *memTokens) reads() [3]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return [3]int{m.gets, m.withOwner, m.many}
}

func (m *memTokens) failWith(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// memRates counts requests per key and window, as the table's counters do.
type memRates struct {
	mu     sync.Mutex
	counts map[string]int
	err    error
}

var _ restriction.RateCounter = (*memRates)(nil)

func (r *memRates) TakeRate(_ context.Context, key restriction.Key, window time.Time, per time.Duration, limit int) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	k := fmt.Sprintf("%s %s %s", key, window.Format(time.RFC3339), per)
	r.counts[k]++
	return r.counts[k] <= limit, nil
}

func (r *memRates) count(key restriction.Key, window time.Time, per time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[fmt.Sprintf("%s %s %s", key, window.Format(time.RFC3339), per)]
}

// memUsage records the uses written, and fails while err is set.
type memUsage struct {
	mu     sync.Mutex
	writes []use
	err    error
}

type use struct {
	id token.ID
	n  int64
	at time.Time
	ip string
}

var _ authorizer.UsageStore = (*memUsage)(nil)

func (u *memUsage) RecordUse(_ context.Context, id token.ID, n int64, at time.Time, ip string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	u.writes = append(u.writes, use{id, n, at, ip})
	return nil
}

func (u *memUsage) written() []use {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]use(nil), u.writes...)
}

func (u *memUsage) failWith(err error) {
	u.mu.Lock()
	u.err = err
	u.mu.Unlock()
}

// clock is a clock the tests move.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// testKeys is a keyring of one fixed pepper.
func testKeys() *token.Keyring {
	p, err := token.NewPepper(1, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		panic(err)
	}
	k, err := token.NewKeyring(p)
	if err != nil {
		panic(err)
	}
	return k
}

// mint makes an active token of owner with the scopes (tokens:read when none), tagged
// and hashed under keys as Service.Create does, and returns it with its string; edit
// may change it before it is stored.
func mint(keys *token.Keyring, owner *access.Principal, created time.Time, scopes ...string) (*token.Token, string) {
	if len(scopes) == 0 {
		scopes = []string{access.TokensRead}
	}
	id, err := token.NewID(owner.ID, nil)
	if err != nil {
		panic(err)
	}
	g, err := token.Generate("tg", id, keys, nil)
	if err != nil {
		panic(err)
	}
	pep := keys.Current()
	return &token.Token{ID: id, OwnerID: owner.ID, CreatedBy: owner.ID, MintedBy: owner.ID, OwnerIncarnation: owner.Incarnation,
		Name: "t", Scopes: scopes, Type: token.TypePermanent, Status: token.StatusActive, CreatedAt: created, UpdatedAt: created,
		ExpiresAt: created.Add(365 * 24 * time.Hour), Hash: pep.Hash(g.Secret), PepperVersion: pep.Version, Version: 1}, g.Plaintext.Reveal()
}

var errDown = errors.New("connection refused")
