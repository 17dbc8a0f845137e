package token_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/token"
)

var testKeys = func() *token.Keyring {
	p, _ := token.NewPepper(1, bytes.Repeat([]byte{9}, 32))
	k, _ := token.NewKeyring(p)
	return k
}()

func TestGenerateParse(t *testing.T) {
	g, err := token.Generate("tg", "", testKeys, nil)
	require.NoError(t, err)
	s := g.Plaintext.Reveal()
	require.True(t, strings.HasPrefix(s, "tg_"+string(g.ID)+"_"))
	require.Len(t, s, 3+30+1+43+2+11+6)
	require.True(t, token.ValidID(string(g.ID)))

	id, secret, err := token.Parse("tg", s)
	require.NoError(t, err)
	require.Equal(t, g.ID, id)
	require.Equal(t, g.Secret.Bytes(), secret.Bytes())
	require.Len(t, secret.Bytes(), 43, "43 base62 characters: 256 random bits")

	p, err := testKeys.Parse("tg", s)
	require.NoError(t, err, "the tag verifies")
	require.Equal(t, g.ID, p.ID)
	require.Equal(t, g.Secret.Bytes(), p.Secret.Bytes())

	// Rotation keeps the id and changes the secret.
	r, err := token.Generate("tg", g.ID, testKeys, nil)
	require.NoError(t, err)
	require.Equal(t, g.ID, r.ID)
	require.NotEqual(t, s, r.Plaintext.Reveal())
}

func TestParseRejects(t *testing.T) {
	g, err := token.Generate("tg", "", testKeys, nil)
	require.NoError(t, err)
	s := g.Plaintext.Reveal()
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"other prefix", "gh" + s[2:]},
		{"prefix of another deployment", "tgx" + s[2:]},
		{"truncated", s[:len(s)-1]},
		{"one more character", s + "a"},
		{"typo in the secret", flip(40)},
		{"typo in the id", flip(5)},
		{"typo in the checksum", flip(len(s) - 1)},
		{"missing separator", strings.Replace(s, "_", "-", 2)},
		{"non-base62 character", s[:30] + "+" + s[31:]},
		{"non-base62 tag", s[:len(s)-8] + "+" + s[len(s)-7:]},
		{"whitespace", " " + s[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := token.Parse("tg", tt.in)
			require.ErrorIs(t, err, token.ErrMalformed)
			require.NotContains(t, err.Error(), s[10:20], "errors never echo the input")
		})
	}
}

// TestTag: only the keyring that made a token can vouch for it; a made-up id, a made-up
// secret, a real id with a made-up secret, or a tag from another pepper is ErrForged,
// though the public checksum is right.
func TestTag(t *testing.T) {
	p1, _ := token.NewPepper(1, bytes.Repeat([]byte{1}, 32))
	p2, _ := token.NewPepper(2, bytes.Repeat([]byte{2}, 32))
	old, _ := token.NewKeyring(p1)
	both, _ := token.NewKeyring(p1, p2)
	onlyNew, _ := token.NewKeyring(p2)
	attacker, _ := token.NewKeyring(func() token.Pepper { p, _ := token.NewPepper(1, bytes.Repeat([]byte{3}, 32)); return p }())

	underOld, err := token.Generate("tg", "", old, nil)
	require.NoError(t, err)
	underNew, err := token.Generate("tg", underOld.ID, both, nil)
	require.NoError(t, err)
	s := underOld.Plaintext.Reveal()
	require.Equal(t, "01", s[3+30+1+43:3+30+1+43+2], "the token names its pepper version")
	require.Equal(t, "02", underNew.Plaintext.Reveal()[3+30+1+43:3+30+1+43+2])

	_, err = both.Parse("tg", s)
	require.NoError(t, err, "every pepper version in the keyring verifies its tags")
	_, err = both.Parse("tg", underNew.Plaintext.Reveal())
	require.NoError(t, err)
	_, err = onlyNew.Parse("tg", s)
	require.ErrorIs(t, err, token.ErrForged, "a version no longer kept")

	forged, err := token.Generate("tg", underOld.ID, attacker, nil) // a real id, a made-up secret
	require.NoError(t, err)
	madeUp, err := token.Generate("tg", "", attacker, nil)
	require.NoError(t, err)
	for _, f := range []string{forged.Plaintext.Reveal(), madeUp.Plaintext.Reveal()} {
		_, _, err := token.Parse("tg", f)
		require.NoError(t, err, "the public checksum is right")
		_, err = both.Parse("tg", f)
		require.ErrorIs(t, err, token.ErrForged)
	}

	// Swapping the secret of a real token, with the checksum fixed up, breaks the tag.
	other, _ := token.Generate("tg", "", old, nil)
	swapped := s[:3+30+1] + other.Plaintext.Reveal()[3+30+1:3+30+1+43] + s[3+30+1+43:len(s)-6]
	swapped += crc62(swapped)
	_, _, err = token.Parse("tg", swapped)
	require.NoError(t, err)
	_, err = both.Parse("tg", swapped)
	require.ErrorIs(t, err, token.ErrForged)
}

func crc62(s string) string {
	c := uint64(crc32.ChecksumIEEE([]byte(s)))
	out := make([]byte, 6)
	for i := 5; i >= 0; i-- {
		out[i] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[c%62]
		c /= 62
	}
	return string(out)
}

func TestSecretsHideThemselves(t *testing.T) {
	g, err := token.Generate("tg", "", testKeys, nil)
	require.NoError(t, err)
	s := g.Plaintext.Reveal()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", g.Secret, "plain", g.Plaintext, "g", g)
	j, err := json.Marshal(g)
	require.NoError(t, err)
	for _, out := range []string{fmt.Sprint(g), fmt.Sprintf("%v %+v %#v %s", g.Secret, g, g.Plaintext, g.Plaintext), logs.String(), string(j)} {
		require.NotContains(t, out, s[len(s)-20:])
		require.Contains(t, out, "redacted")
	}
}

func TestHint(t *testing.T) {
	require.Equal(t, "tg_…9aQ3", token.Hint("tg", "tg_abc_xyz9aQ3"))
	g, err := token.Generate("tg", "", testKeys, nil)
	require.NoError(t, err)
	s := g.Plaintext.Reveal()
	require.Equal(t, "tg_…"+s[len(s)-4:], g.Plaintext.Hint("tg"))
}

func TestKeyring(t *testing.T) {
	p1, err := token.NewPepper(1, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	p2, err := token.NewPepper(2, bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)
	k, err := token.NewKeyring(p1, p2)
	require.NoError(t, err)
	require.Equal(t, 2, k.Current().Version)

	g, err := token.Generate("tg", "", testKeys, nil)
	require.NoError(t, err)
	h1 := p1.Hash(g.Secret)
	require.Len(t, h1, 32)
	require.True(t, k.Verify(g.Secret, 1, h1), "old pepper versions still verify")
	require.False(t, k.Verify(g.Secret, 2, h1), "wrong version")
	require.False(t, k.Verify(g.Secret, 3, h1), "unknown version")
	require.False(t, k.Verify(g.Secret, 1, nil))
	other, _ := token.Generate("tg", "", testKeys, nil)
	require.False(t, k.Verify(other.Secret, 1, h1))
	require.NotEqual(t, h1, p2.Hash(g.Secret), "the pepper keys the hash")

	_, err = token.NewPepper(1, make([]byte, 16))
	require.Error(t, err, "short pepper")
	_, err = token.NewKeyring()
	require.Error(t, err)
}

func BenchmarkParseAndHash(b *testing.B) {
	p, _ := token.NewPepper(1, bytes.Repeat([]byte{7}, 32))
	k, _ := token.NewKeyring(p)
	g, _ := token.Generate("tg", "", k, nil)
	s := g.Plaintext.Reveal()
	want := p.Hash(g.Secret)
	b.Run("parse+checksum", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := token.Parse("tg", s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hmac-sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Hash(g.Secret)
		}
	})
	b.Run("parse+checksum+tag", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Parse("tg", s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+checksum+verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, sec, err := token.Parse("tg", s)
			if err != nil || !k.Verify(sec, 1, want) {
				b.Fatal("verify failed")
			}
		}
	})
}
