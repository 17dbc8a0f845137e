package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/access"
)

// TestCallingTokensReuseOnlyTheVersionReported: a kept calling token is a copy, and it is
// reused only while the authorizer reports the very version kept.
func TestCallingTokensReuseOnlyTheVersionReported(t *testing.T) {
	kept := NewCallingTokens(10, time.Minute)
	tok := stored(nil)
	kept.add(tok)
	tok.Name = "changed after it was kept"
	got := kept.get(tok.ID, tok.Version)
	require.NotNil(t, got)
	require.NotEqual(t, tok.Name, got.Name, "a copy: later changes to the caller's value do not reach it")
	got.Name = "changed by a reader"
	require.NotEqual(t, "changed by a reader", kept.get(tok.ID, tok.Version).Name, "every reader gets its own copy")
	require.Nil(t, kept.get(tok.ID, tok.Version+1), "another version is read again")
	require.Nil(t, kept.get(tok.ID, 0), "no version reported: read again")
	require.Nil(t, kept.get("other", tok.Version))
	var none *CallingTokens
	none.add(tok)
	require.Nil(t, none.get(tok.ID, tok.Version), "without a cache every calling token is read")
}

// expiring is an ExpiryStore that answers with what it holds, and err.
type expiring struct {
	toks []*Token
	err  error
}

func (e expiring) Expiring(context.Context, time.Time, time.Time) ([]*Token, error) {
	return e.toks, e.err
}

// TestExpiringWithinChecksAgainAndCountsSkipped: the index is only a hint (every token
// is checked again), skipped items come back counted with the rest, and a failed read is
// an error that says what it looked for.
func TestExpiringWithinChecksAgainAndCountsSkipped(t *testing.T) {
	soon := stored(func(t *Token) { t.ExpiresAt = now.Add(48 * time.Hour) })
	revoked := stored(func(t *Token) { t.ID = "revoked"; t.ExpiresAt = now.Add(24 * time.Hour); t.Status = StatusRevoked })
	alerts, err := ExpiringWithin(context.Background(), expiring{toks: []*Token{soon, revoked}}, now, 7*24*time.Hour)
	require.NoError(t, err)
	require.Len(t, alerts, 1, "a token revoked since the index saw it gets no alert")

	skipped := &SkippedError{IDs: []ID{"bad1", "bad2"}}
	alerts, err = ExpiringWithin(context.Background(), expiring{toks: []*Token{soon}, err: skipped}, now, 7*24*time.Hour)
	require.Len(t, alerts, 1, "the readable tokens still get their alerts")
	require.ErrorAs(t, err, &skipped)
	require.Equal(t, "2 stored items do not decode and were skipped (first: bad1)", err.Error())

	_, err = ExpiringWithin(context.Background(), expiring{err: errors.New("throttled")}, now, time.Hour)
	require.ErrorContains(t, err, "find tokens expiring by")
	require.ErrorContains(t, err, "throttled")
}

// TestOwnerCheckIsThePrincipalAsRead: a write checks the owner at the id, incarnation
// and version its decision read.
func TestOwnerCheckIsThePrincipalAsRead(t *testing.T) {
	p := &access.Principal{ID: "alice", Incarnation: "i2", Version: 7}
	require.Equal(t, OwnerCheck{ID: "alice", Incarnation: "i2", Version: 7}, CheckOf(p))
}
