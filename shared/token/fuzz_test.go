package token_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"tokengate/shared/token"
)

// fuzzKeys is a keyring of two pepper versions, as after one rotation.
func fuzzKeys(t testing.TB) *token.Keyring {
	p1, err := token.NewPepper(1, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := token.NewPepper(2, bytes.Repeat([]byte{2}, 32))
	if err != nil {
		t.Fatal(err)
	}
	k, err := token.NewKeyring(p1, p2)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FuzzParse: any string, presented as a token.
// Properties: no panic; Parse and Keyring.Parse agree (the tag check only narrows what
// the shape and checksum accepted, and both give the same id and secret); every refusal
// is ErrMalformed or ErrForged and its message never holds the input.
func FuzzParse(f *testing.F) {
	k := fuzzKeys(f)
	g, err := token.Generate(token.DefaultPrefix, "", k, bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(g.Plaintext.Reveal())
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, perr := token.Parse(token.DefaultPrefix, s)
		p, kerr := k.Parse(token.DefaultPrefix, s)
		for _, err := range []error{perr, kerr} {
			if err != nil && !errors.Is(err, token.ErrMalformed) && !errors.Is(err, token.ErrForged) {
				t.Fatalf("refusal of another kind: %v", err)
			}
			if err != nil && len(s) >= 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("the error %q holds the input", err)
			}
		}
		if kerr == nil && perr != nil {
			t.Fatalf("the keyring accepted what Parse refused: %v", perr)
		}
		if kerr == nil && (p.ID != id || !bytes.Equal(p.Secret.Bytes(), secret.Bytes())) {
			t.Fatal("Parse and Keyring.Parse disagree on the id or secret")
		}
	})
}

// FuzzGenerate: a token made from any randomness, then one character of it changed.
// Properties: what Generate makes parses back to its id and secret under the keyring
// (round trip); changing any one character makes it refused without a read (the CRC32
// checksum catches every single substitution), so a typo never reaches the table.
func FuzzGenerate(f *testing.F) {
	k := fuzzKeys(f)
	f.Add(bytes.Repeat([]byte{0}, 64), uint(0), byte('A'))
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint(40), byte('z'))
	f.Fuzz(func(t *testing.T, random []byte, pos uint, c byte) {
		if len(random) < 64 {
			random = append(random, make([]byte, 64-len(random))...)
		}
		g, err := token.Generate(token.DefaultPrefix, "", k, bytes.NewReader(random))
		if err != nil {
			t.Fatal(err)
		}
		s := g.Plaintext.Reveal()
		p, err := k.Parse(token.DefaultPrefix, s)
		if err != nil || p.ID != g.ID || !bytes.Equal(p.Secret.Bytes(), g.Secret.Bytes()) {
			t.Fatalf("a generated token does not parse back: %v", err)
		}
		i := int(pos % uint(len(s)))
		if s[i] == c {
			return
		}
		typo := s[:i] + string([]byte{c}) + s[i+1:]
		if _, err := k.Parse(token.DefaultPrefix, typo); err == nil {
			t.Fatalf("a token with character %d changed to %q was accepted", i, c)
		}
	})
}
