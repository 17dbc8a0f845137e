package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"sync"
	"unsafe"
)

// Pepper is the server-side key of the token hashes: HMAC-SHA256(pepper, secret). It is
// random, kept in the table only as KMS ciphertext, and exists in plaintext only in
// memory. Versions let a new pepper be introduced while hashes under the old one still
// verify.
type Pepper struct {
	Version int
	key     []byte
	pool    *sync.Pool
	tags    *sync.Pool // HMAC under the tag key, HMAC-SHA256(key, tagLabel)
}

// tagLabel derives a pepper's tag key, so the token tag and the stored hash are never
// made under the same key.
const tagLabel = "tokengate tag v1"

// NewPepper wraps a decrypted pepper key. The key must be at least 32 bytes.
func NewPepper(version int, key []byte) (Pepper, error) {
	if version < 1 {
		return Pepper{}, fmt.Errorf("pepper version %d: must be at least 1", version)
	}
	if len(key) < 32 {
		return Pepper{}, fmt.Errorf("pepper version %d: key has %d bytes, want at least 32", version, len(key))
	}
	k := append([]byte(nil), key...)
	d := hmac.New(sha256.New, k)
	d.Write([]byte(tagLabel))
	tk := d.Sum(nil)
	return Pepper{Version: version, key: k,
		pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, k) }},
		tags: &sync.Pool{New: func() any { return &tagger{h: hmac.New(sha256.New, tk)} }},
	}, nil
}

func (Pepper) String() string { return "[redacted pepper]" }

// Hash returns HMAC-SHA256(pepper, secret).
func (p Pepper) Hash(s Secret) []byte {
	h := p.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(s.b)
	sum := h.Sum(make([]byte, 0, sha256.Size))
	p.pool.Put(h)
	return sum
}

// tag returns HMAC-SHA256(tag key, s): the token tag is its first 64 bits.
func (p Pepper) tag(s string) (sum [sha256.Size]byte) {
	t := p.tags.Get().(*tagger)
	t.h.Reset()
	// The HMAC only reads its input: viewing the string's bytes saves a copy per validation.
	_, _ = t.h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
	// Sum appends to the pooled buffer: a slice handed to an interface method escapes, so
	// one of the stack would cost an allocation per validation.
	sum = [sha256.Size]byte(t.h.Sum(t.buf[:0]))
	p.tags.Put(t)
	return sum
}

// tagger is a pooled HMAC under the tag key with the buffer its sum is written to.
type tagger struct {
	h   hash.Hash
	buf [sha256.Size]byte
}

// Keyring holds every pepper version still in use; new hashes use the highest.
type Keyring struct {
	current Pepper
	byVer   map[int]Pepper
}

// NewKeyring returns a keyring of the given peppers; it needs at least one.
func NewKeyring(ps ...Pepper) (*Keyring, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("keyring: no pepper")
	}
	k := &Keyring{byVer: map[int]Pepper{}}
	for _, p := range ps {
		if p.pool == nil {
			return nil, fmt.Errorf("keyring: pepper version %d was not made by NewPepper", p.Version)
		}
		k.byVer[p.Version] = p
		if p.Version > k.current.Version {
			k.current = p
		}
	}
	return k, nil
}

// Current is the pepper new hashes are made with.
func (k *Keyring) Current() Pepper { return k.current }

// Verify reports, in constant time for a given length, whether s hashes to want under
// pepper version ver. An unknown version never verifies.
func (k *Keyring) Verify(s Secret, ver int, want []byte) bool {
	p, ok := k.byVer[ver]
	if !ok || len(want) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare(p.Hash(s), want) == 1
}

// SealedPepper is a pepper version as stored: KMS ciphertext only.
type SealedPepper struct {
	Version    int
	Ciphertext []byte
}

// HashWith is HMAC-SHA256 of b under pepper version ver, for other secrets the pepper
// keys (enrollment secrets); ok is false for an unknown version.
func (k *Keyring) HashWith(ver int, b []byte) (sum []byte, ok bool) {
	p, ok := k.byVer[ver]
	if !ok {
		return nil, false
	}
	return p.Hash(Secret{b: b}), true
}
