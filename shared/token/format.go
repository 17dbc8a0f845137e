package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"strings"
	"unsafe"
)

// A token string is <prefix>_<id>_<secret><version><tag><checksum>:
//
//   - prefix: configurable (default "tg"), lower-case letters and digits, so secret
//     scanners can recognise tokengate tokens;
//   - id: the public token id: the owner's reference (8 base62 characters of the SHA-256
//     of the owner id, see OwnerRef) then 128 random bits as 22 base62 characters. The
//     reference lets the authorizer read the token and its owner in one round trip; it
//     tells which tokens share an owner, nothing more;
//   - secret: 256 random bits as 43 base62 characters;
//   - version: the pepper version the tag was made under, 2 base62 characters (1-3843);
//   - tag: the first 64 bits of HMAC-SHA256(tag key, "<prefix>_<id>_<secret>") as 11
//     base62 characters, where the tag key is HMAC-SHA256(pepper, "tokengate tag v1")
//     of that pepper version. Only tokengate can make a valid tag, so a made-up token
//     (a made-up id, or a real id with a made-up secret) is refused without a database
//     read (Keyring.Parse);
//   - checksum: CRC32 (IEEE) of everything before it, as 6 base62 characters. It is
//     public, last, and what secret scanners check; Parse rejects mistyped strings with it.
const (
	idBytes       = 16
	ownerRefLen   = 8
	idLen         = ownerRefLen + 22
	secretBytes   = 32
	secretLen     = 43
	versionLen    = 2
	tagBytes      = 8
	tagLen        = 11 // 62^11 > 2^64
	checksumLen   = 6
	DefaultPrefix = "tg"
	// MaxPepperVersion is the highest pepper version a token string can name.
	MaxPepperVersion = 62*62 - 1
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var base62Index = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(base62); i++ {
		t[base62[i]] = int8(i)
	}
	return t
}()

// encode62 writes b as exactly n base62 digits, big-endian, zero-padded.
func encode62(b []byte, n int) string {
	v := new(big.Int).SetBytes(b)
	out := make([]byte, n)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := n - 1; i >= 0; i-- {
		v.DivMod(v, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

func valid62(s string) bool {
	// Every index is 0..61 or -1: the OR of them all is negative exactly when one is -1.
	// No branch per character: it runs over every presented token.
	var b0, b1, b2, b3 int8 // four chains, so the loads overlap
	for ; len(s) >= 4; s = s[4:] {
		b0 |= base62Index[s[0]]
		b1 |= base62Index[s[1]]
		b2 |= base62Index[s[2]]
		b3 |= base62Index[s[3]]
	}
	for i := 0; i < len(s); i++ {
		b0 |= base62Index[s[i]]
	}
	return b0|b1|b2|b3 >= 0
}

// uint62 writes v as exactly n base62 digits without allocating.
func uint62(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
}

// checksum62 is the CRC32 of s as 6 base62 digits (62^6 > 2^32). It runs on every
// validation, so it avoids big.Int and allocations.
func checksum62(s string) [checksumLen]byte {
	// crc32 only reads its input: viewing the string's bytes saves a copy per validation.
	c := uint64(crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(s), len(s))))
	var out [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return out
}

// ID is the public identifier of a token. It appears in URLs, logs and audit records.
type ID string

// ValidID reports whether s has the shape of a token id, so that handlers can answer 404
// for garbage without a database read.
func ValidID(s string) bool { return len(s) == idLen && valid62(s) }

// OwnerRef is the key of a principal within token ids and the table: 8 base62
// characters of the SHA-256 of its id (47 bits; a principal whose reference is taken
// already cannot be created, so two never share one).
func OwnerRef(ownerID string) string {
	sum := sha256.Sum256([]byte(ownerID))
	return encode62(sum[:6], ownerRefLen)
}

// OwnerRef returns the owner reference carried in the id.
func (id ID) OwnerRef() string {
	if len(id) < ownerRefLen {
		return ""
	}
	return string(id[:ownerRefLen])
}

// NewID returns a fresh token id for owner; the random part is read from r
// (crypto/rand when r is nil).
func NewID(owner string, r io.Reader) (ID, error) {
	b := make([]byte, idBytes)
	if _, err := io.ReadFull(reader(r), b); err != nil {
		return "", fmt.Errorf("new token id: %w", err)
	}
	return ID(OwnerRef(owner) + encode62(b, idLen-ownerRefLen)), nil
}

// Secret proves possession of a token: its 43 base62 characters, which carry the 256
// random bits. They are hashed as they are, so validating a token decodes nothing.
// String, GoString and MarshalJSON all hide it, so a stray %v, log attribute or response
// field prints "[redacted]"; only Bytes, used to compute the hash, returns the real value.
type Secret struct{ b []byte }

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "token.Secret{[redacted]}" }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Bytes returns the raw secret for hashing. Never log or store it.
func (s Secret) Bytes() []byte { return s.b }

// Generated is a freshly made token: the one-time string and what is kept of it.
type Generated struct {
	ID     ID
	Secret Secret
	// Plaintext is the full token string: returned once in the create or rotate
	// response, never logged or stored.
	Plaintext Plaintext
}

// Plaintext is a full token string. Like Secret it hides itself from logs and JSON;
// Reveal returns it for the one response that hands it out.
type Plaintext struct{ s string }

func (Plaintext) String() string               { return "[redacted]" }
func (Plaintext) GoString() string             { return "token.Plaintext{[redacted]}" }
func (Plaintext) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Reveal returns the token string. Only the create and rotate responses call it.
func (p Plaintext) Reveal() string { return p.s }

// Hint is what listings show of a token: the prefix and its last 4 characters.
func (p Plaintext) Hint(prefix string) string { return Hint(prefix, p.s) }

// Hint returns "<prefix>_…<last 4>" for a token string.
func Hint(prefix, s string) string {
	if len(s) < 4 {
		return prefix + "_…"
	}
	return prefix + "_…" + s[len(s)-4:]
}

// Generate makes a new token string with the given id (NewID makes one; rotation keeps
// it), tagged under the keyring's current pepper. An empty id gets a fresh one with no
// known owner, for tests. r is the randomness source (crypto/rand when nil).
func Generate(prefix string, id ID, k *Keyring, r io.Reader) (Generated, error) {
	if k == nil {
		return Generated{}, fmt.Errorf("new token: no keyring to tag it with")
	}
	if id == "" {
		var err error
		if id, err = NewID("", r); err != nil {
			return Generated{}, err
		}
	}
	pep := k.Current()
	if pep.Version > MaxPepperVersion {
		return Generated{}, fmt.Errorf("new token: pepper version %d is above %d", pep.Version, MaxPepperVersion)
	}
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(reader(r), b); err != nil {
		return Generated{}, fmt.Errorf("new token secret: %w", err)
	}
	secret := encode62(b, secretLen)
	tagged := prefix + "_" + string(id) + "_" + secret
	mac := pep.tag(tagged)
	var vt [versionLen + tagLen]byte
	uint62(vt[:versionLen], uint64(pep.Version))
	uint62(vt[versionLen:], binary.BigEndian.Uint64(mac[:tagBytes]))
	body := tagged + string(vt[:])
	sum := checksum62(body)
	return Generated{ID: id, Secret: Secret{b: []byte(secret)}, Plaintext: Plaintext{s: body + string(sum[:])}}, nil
}

// parts are the pieces of a token string of the right shape and checksum.
type parts struct {
	id      ID
	secret  string
	tagged  string // "<prefix>_<id>_<secret>", what the tag is over
	version int
	tag     string
}

func split(prefix, s string) (parts, error) {
	want := len(prefix) + 1 + idLen + 1 + secretLen + versionLen + tagLen + checksumLen
	if len(s) != want || !strings.HasPrefix(s, prefix) || s[len(prefix)] != '_' || s[len(prefix)+1+idLen] != '_' {
		return parts{}, ErrMalformed
	}
	body, sum := s[:len(s)-checksumLen], s[len(s)-checksumLen:]
	if want := checksum62(body); string(want[:]) != sum {
		return parts{}, ErrMalformed
	}
	tagged := body[:len(body)-versionLen-tagLen]
	id, secret := s[len(prefix)+1:len(prefix)+1+idLen], tagged[len(tagged)-secretLen:]
	ver, tag := body[len(tagged):len(tagged)+versionLen], body[len(body)-tagLen:]
	// The secret, the version and the tag follow each other: one pass checks all three.
	if !valid62(id) || !valid62(body[len(tagged)-secretLen:]) {
		return parts{}, ErrMalformed
	}
	v := int(base62Index[ver[0]])*62 + int(base62Index[ver[1]])
	return parts{id: ID(id), secret: secret, tagged: tagged, version: v, tag: tag}, nil
}

// Parse checks the shape and checksum of a token string and splits it, without checking
// its tag: Keyring.Parse does, and is what decides anything about a presented token. It
// reads nothing: a mistyped, truncated or made-up string costs no database read. The
// error never contains the input.
func Parse(prefix, s string) (ID, Secret, error) {
	p, err := split(prefix, s)
	if err != nil {
		return "", Secret{}, err
	}
	return p.id, Secret{b: []byte(p.secret)}, nil
}

// Presented is a token string whose shape, checksum and tag verified.
type Presented struct {
	// ID is a substring of the presented string: whatever keeps it for long (a cache)
	// must copy it (strings.Clone), or it keeps the whole string, secret included, alive.
	ID     ID
	Secret Secret
	// Key is the whole HMAC the tag was cut from: a keyed hash of id and secret, so a
	// cache can hold what was presented without holding the secret.
	Key [32]byte
}

// Parse checks a token string's shape, checksum and tag. The tag must verify under the
// pepper version the string names, which must be in the keyring; otherwise the string
// was not made by tokengate and ErrForged is returned (ErrMalformed for a bad shape or
// checksum). Either way nothing was read.
func (k *Keyring) Parse(prefix, s string) (Presented, error) {
	p, err := split(prefix, s)
	if err != nil {
		return Presented{}, err
	}
	pep, ok := k.byVer[p.version]
	if !ok {
		return Presented{}, ErrForged
	}
	mac := pep.tag(p.tagged)
	var want [tagLen]byte
	uint62(want[:], binary.BigEndian.Uint64(mac[:tagBytes]))
	if subtle.ConstantTimeCompare(want[:], []byte(p.tag)) != 1 {
		return Presented{}, ErrForged
	}
	return Presented{ID: p.id, Secret: Secret{b: []byte(p.secret)}, Key: mac}, nil
}

func reader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
