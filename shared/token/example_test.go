package token_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"tokengate/shared/token"
)

// fixedRandom stands in for crypto/rand (what a nil reader means), so the output below
// does not change from run to run.
func fixedRandom() *strings.Reader {
	return strings.NewReader(strings.Repeat("an example, not a secret; ", 4))
}

// examplePepper is a pepper as shared/pepper returns it once KMS decrypted it.
func examplePepper(version int, fill byte) (token.Pepper, *token.Keyring) {
	p, err := token.NewPepper(version, bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		panic(err)
	}
	k, err := token.NewKeyring(p)
	if err != nil {
		panic(err)
	}
	return p, k
}

// A token string is <prefix>_<id>_<secret><pepper version><tag><checksum>: the id
// starts with its owner's reference, the tag is a keyed hash only tokengate can make,
// and the checksum catches a typo, or lets a secret scanner recognise a token, without
// a key. Generate makes one; Keyring.Parse takes it apart again.
func Example() {
	_, keys := examplePepper(1, 42)
	id, _ := token.NewID("alice", fixedRandom())
	g, _ := token.Generate("tg", id, keys, fixedRandom())
	s := g.Plaintext.Reveal() // once, in the create response
	fmt.Println(s, len(s))

	rest := s[len("tg_"+string(id)+"_"):]
	fmt.Println("id:      ", id, "owner reference", id.OwnerRef(), "=", token.OwnerRef("alice"))
	fmt.Println("secret:  ", len(rest[:43]), "base62 characters (256 bits)")
	fmt.Println("version: ", rest[43:45])
	fmt.Println("tag:     ", rest[45:56])
	fmt.Println("checksum:", rest[56:])
	fmt.Println("listed as", g.Plaintext.Hint("tg"), "- printed as", g.Plaintext, g.Secret)

	p, err := keys.Parse("tg", s)
	fmt.Println("parsed:  ", p.ID == id, err)
	// Output:
	// tg_DghuOUTm2xqaBhtaoGkhpSuq9fNtMu_N6QbsZPxT5SQS42OYqg8B1Cwx6hdrcZBctInvJYeHr70144EnYnFmPHG0ASIkc 96
	// id:       DghuOUTm2xqaBhtaoGkhpSuq9fNtMu owner reference DghuOUTm = DghuOUTm
	// secret:   43 base62 characters (256 bits)
	// version:  01
	// tag:      44EnYnFmPHG
	// checksum: 0ASIkc
	// listed as tg_…SIkc - printed as [redacted] [redacted]
	// parsed:   true <nil>
}

// Keyring.Parse is what decides anything about a presented string: shape, checksum, then
// the tag under the pepper version the string names. Nothing is read; a string no pepper
// of ours tagged is refused as forged, a mistyped one as malformed.
func ExampleKeyring_Parse() {
	_, keys := examplePepper(1, 42)
	_, otherKeys := examplePepper(1, 7) // another deployment's pepper
	g, _ := token.Generate("tg", "", keys, nil)
	forged, _ := token.Generate("tg", g.ID, otherKeys, nil)
	s := g.Plaintext.Reveal()
	c := "A"
	if s[3] == 'A' {
		c = "B"
	}
	typo := s[:3] + c + s[4:] // one character of the id mistyped

	for _, presented := range []string{s, forged.Plaintext.Reveal(), typo, "gh" + s[2:], "tg_short"} {
		p, err := keys.Parse("tg", presented)
		switch {
		case errors.Is(err, token.ErrForged):
			fmt.Println("forged:", err)
		case errors.Is(err, token.ErrMalformed):
			fmt.Println("malformed:", err)
		default:
			fmt.Println("tag verified for", p.ID == g.ID, "- a keyed hash to cache it under:", len(p.Key), "bytes")
		}
	}
	// Output:
	// tag verified for true - a keyed hash to cache it under: 32 bytes
	// forged: token tag does not verify
	// malformed: malformed token
	// malformed: malformed token
	// malformed: malformed token
}

// What is stored of a token is HMAC-SHA256(pepper, secret) and the pepper's version; the
// keyring verifies a presented secret against it, under any version it still holds, so
// a new pepper can be added while the old hashes verify.
func ExampleKeyring_Verify() {
	v1, _ := examplePepper(1, 42)
	v2, _ := examplePepper(2, 43)
	keys, _ := token.NewKeyring(v1, v2)
	fmt.Println("new hashes under version", keys.Current().Version)

	old, _ := token.Generate("tg", "", mustKeyring(v1), nil) // made before version 2 existed
	stored := v1.Hash(old.Secret)
	fmt.Println(len(stored), "bytes stored")
	fmt.Println(keys.Verify(old.Secret, 1, stored), keys.Verify(old.Secret, 2, stored), keys.Verify(old.Secret, 3, stored))

	other, _ := token.Generate("tg", "", keys, nil)
	fmt.Println(keys.Verify(other.Secret, 1, stored))
	// Output:
	// new hashes under version 2
	// 32 bytes stored
	// true false false
	// false
}

// token.Parse checks only the shape and checksum, for tools that split a string they
// were given; it never says a token is genuine (Keyring.Parse does).
func ExampleParse() {
	_, keys := examplePepper(1, 42)
	g, _ := token.Generate("tg", "", keys, nil)
	id, secret, err := token.Parse("tg", g.Plaintext.Reveal())
	fmt.Println(id == g.ID, token.ValidID(string(id)), secret, err)
	_, _, err = token.Parse("tg", "tg_"+strings.Repeat("A", 100))
	fmt.Println(err)
	// Output:
	// true true [redacted] <nil>
	// malformed token
}

func mustKeyring(ps ...token.Pepper) *token.Keyring {
	k, err := token.NewKeyring(ps...)
	if err != nil {
		panic(err)
	}
	return k
}
