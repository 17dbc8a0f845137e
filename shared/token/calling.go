package token

import (
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// CallingTokens keeps the calling tokens a function instance read, by id, so that issuance
// through the same token (a console session minting, a CI job creating its children)
// costs no read of it. A copy is reused only while the authorizer reports the very
// version it holds (access.Caller.TokenVersion): every change of a token bumps its
// version, and the write of a child checks the parent still is at it (ParentCheck), so a
// copy never decides on anything but the token as it is. Safe for concurrent use.
type CallingTokens struct {
	lru *expirable.LRU[ID, *Token]
}

// NewCallingTokens keeps up to size tokens, each at most ttl.
func NewCallingTokens(size int, ttl time.Duration) *CallingTokens {
	return &CallingTokens{lru: expirable.NewLRU[ID, *Token](size, nil, ttl)}
}

// get returns a copy of token id at version, if kept.
func (c *CallingTokens) get(id ID, version int64) *Token {
	if c == nil || version <= 0 {
		return nil
	}
	t, ok := c.lru.Get(id)
	if !ok || t.Version != version {
		return nil
	}
	cp := *t
	return &cp
}

func (c *CallingTokens) add(t *Token) {
	if c != nil {
		cp := *t
		c.lru.Add(t.ID, &cp)
	}
}
