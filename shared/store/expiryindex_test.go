package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/store"
	"tokengate/shared/token"
)

func ids(toks []*token.Token) []token.ID {
	out := make([]token.ID, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

// indexed reports whether the byExpiry index holds id, read straight from the index.
// indexed reports whether the token is in an expiry bucket of byExpiry (the index's
// PENDING partition is the approval queue, not an expiry bucket).
func indexed(t *testing.T, tb *store.Table, id token.ID) bool {
	t.Helper()
	out, err := tb.Client.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(tb.Name), IndexName: aws.String(store.IndexByExpiry),
		FilterExpression: aws.String("id = :id AND begins_with(gsi2pk, :exp)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id":  &types.AttributeValueMemberS{Value: string(id)},
			":exp": &types.AttributeValueMemberS{Value: "EXP#"},
		},
	})
	require.NoError(t, err)
	return len(out.Items) > 0
}

// future is a time hour:min UTC a month from today. Test tokens expire after the real
// clock: DynamoDB Local runs TTL, and deletes tokens that ended long ago.
func future(hour, min int) time.Time {
	d := time.Now().UTC().AddDate(0, 1, 0)
	return time.Date(d.Year(), d.Month(), d.Day(), hour, min, 0, 0, time.UTC)
}

func TestExpiring(t *testing.T) {
	t.Parallel()
	tb := localtest.Table(t)
	ctx := context.Background()
	// Late in a UTC day, so a one-week window spans 8 day partitions.
	now := future(22, 30)
	until := now.Add(168 * time.Hour)
	put := func(name string, at time.Time) *token.Token {
		return localtest.PutToken(t, tb, localtest.NewToken(t, "alice", name, at))
	}
	atNow := put("expires now: already expired", now)
	justAfter := put("first second after now", now.Add(time.Second))
	sameDay := put("later today", now.Add(time.Hour))
	midnight := put("at midnight", now.Add(90*time.Minute))
	middle := put("in four days", now.Add(96*time.Hour))
	lastSecond := put("last second of the window", until)
	put("one second past the window", until.Add(time.Second))
	put("next year", now.AddDate(1, 0, 0))
	put("yesterday", now.Add(-24*time.Hour))
	put("never", time.Time{})
	_ = atNow

	got, err := tb.Expiring(ctx, now, until)
	require.NoError(t, err)
	require.Equal(t, []token.ID{justAfter.ID, sameDay.ID, midnight.ID, middle.ID, lastSecond.ID}, ids(got), "soonest first, both edges right")
	require.Equal(t, "later today", got[1].Name, "whole tokens come back")

	t.Run("OneDay", func(t *testing.T) {
		got, err := tb.Expiring(ctx, now, now.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, []token.ID{justAfter.ID, sameDay.ID}, ids(got))
	})
	t.Run("EmptyRange", func(t *testing.T) {
		got, err := tb.Expiring(ctx, now, now)
		require.NoError(t, err)
		require.Empty(t, got)
	})
	t.Run("SubSecondBounds", func(t *testing.T) {
		// Stored expiries have whole seconds; a clock with nanoseconds must not shift the edges.
		got, err := tb.Expiring(ctx, now.Add(500*time.Millisecond), until.Add(500*time.Millisecond))
		require.NoError(t, err)
		require.Equal(t, []token.ID{justAfter.ID, sameDay.ID, midnight.ID, middle.ID, lastSecond.ID}, ids(got))
	})
}

func TestExpiringPaginates(t *testing.T) {
	t.Parallel()
	tb := localtest.Table(t)
	now := future(12, 0)
	// Over 1 MB in one day partition, so its Query needs a second page.
	const n = 300
	for i := range n {
		tok := localtest.NewToken(t, "alice", strings.Repeat("x", 100), now.Add(time.Duration(i+1)*time.Second))
		tok.Description = strings.Repeat("d", 500)
		tok.Hash = make([]byte, 3000) // about 3.7 KB an item: 300 of them pass 1 MB
		localtest.PutToken(t, tb, tok)
	}
	got, err := tb.Expiring(context.Background(), now, now.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, got, n)
	for i := 1; i < n; i++ {
		require.True(t, got[i-1].ExpiresAt.Before(got[i].ExpiresAt), "sorted by expiry")
	}
}

// TestExpiryIndexFollowsPut: only active permanent tokens with an expiry are in the sparse
// byExpiry index, and every change made through Put keeps it right.
func TestExpiryIndexFollowsPut(t *testing.T) {
	t.Parallel()
	tb := localtest.Table(t)
	ctx := context.Background()
	now := future(12, 0)
	in3days := now.Add(72 * time.Hour)
	newTok := func(name string) *token.Token { return localtest.NewToken(t, "alice", name, in3days) }

	active := localtest.PutToken(t, tb, newTok("active"))
	require.True(t, indexed(t, tb, active.ID))

	temporary := newTok("temporary")
	temporary.Type = token.TypeTemporary
	localtest.PutToken(t, tb, temporary)
	require.False(t, indexed(t, tb, temporary.ID), "temporary tokens are never notified")

	never := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "never", time.Time{}))
	require.False(t, indexed(t, tb, never.ID), "tokens without an expiry are never notified")

	pending := newTok("pending")
	pending.Status = token.StatusPending
	localtest.PutToken(t, tb, pending)
	require.False(t, indexed(t, tb, pending.ID))

	revoked := localtest.PutToken(t, tb, newTok("revoked"))
	localtest.Change(t, tb, revoked, func(tok *token.Token) { tok.Status, tok.EndedAt = token.StatusRevoked, now })
	require.False(t, indexed(t, tb, revoked.ID), "revoking takes a token out of the index")

	disabled := localtest.PutToken(t, tb, newTok("disabled"))
	localtest.Change(t, tb, disabled, func(tok *token.Token) { tok.Status = token.StatusDisabled })
	require.False(t, indexed(t, tb, disabled.ID), "disabling takes a token out of the index")
	localtest.Change(t, tb, disabled, func(tok *token.Token) { tok.Status = token.StatusActive })
	require.True(t, indexed(t, tb, disabled.ID), "enabling puts it back")

	rotated := localtest.PutToken(t, tb, newTok("rotated"))
	localtest.Change(t, tb, rotated, func(tok *token.Token) { tok.Hash, tok.Hint = make([]byte, 32), "tg_…rot8" })
	require.True(t, indexed(t, tb, rotated.ID), "rotating keeps the token and its expiry")

	redated := localtest.PutToken(t, tb, newTok("re-dated"))
	localtest.Change(t, tb, redated, func(tok *token.Token) { tok.ExpiresAt = now.AddDate(0, 2, 0) })
	got, err := tb.Expiring(ctx, now, now.Add(168*time.Hour))
	require.NoError(t, err)
	require.ElementsMatch(t, []token.ID{active.ID, disabled.ID, rotated.ID}, ids(got), "a re-dated token moves to its new day")
	got, err = tb.Expiring(ctx, now.AddDate(0, 2, 0).Add(-time.Hour), now.AddDate(0, 2, 0))
	require.NoError(t, err)
	require.Equal(t, []token.ID{redated.ID}, ids(got))

	// A notice claim is not a change: Put neither writes nor removes lastNotifiedAt.
	_, ok, err := tb.ClaimNotice(ctx, active, now, now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	localtest.Change(t, tb, active, func(tok *token.Token) { tok.Name = "renamed" })
	_, ok, err = tb.ClaimNotice(ctx, active, now.Add(time.Hour), now.Add(-23*time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "the claim survives a Put")
}

func TestClaimNotice(t *testing.T) {
	t.Parallel()
	tb := localtest.Table(t)
	ctx := context.Background()
	now := future(12, 0)
	backoff := 24 * time.Hour
	claim := func(tok *token.Token, at time.Time) (time.Time, bool) {
		t.Helper()
		prev, ok, err := tb.ClaimNotice(ctx, tok, at, at.Add(-backoff))
		require.NoError(t, err)
		return prev, ok
	}

	t.Run("Backoff", func(t *testing.T) {
		tok := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour)))
		prev, ok := claim(tok, now)
		require.True(t, ok)
		require.True(t, prev.IsZero(), "never notified before")
		_, ok = claim(tok, now)
		require.False(t, ok, "the same run again")
		found, err := tb.Expiring(ctx, now, now.Add(168*time.Hour))
		require.NoError(t, err)
		i := slices.IndexFunc(found, func(f *token.Token) bool { return f.ID == tok.ID })
		require.GreaterOrEqual(t, i, 0)
		require.Equal(t, now, found[i].LastNotifiedAt, "the index carries the claim, so a run can skip it without a write")
		_, ok = claim(tok, now.Add(backoff-time.Second))
		require.False(t, ok, "within the backoff")
		prev, ok = claim(tok, now.Add(backoff))
		require.True(t, ok, "a full backoff later")
		require.Equal(t, now, prev)
	})
	t.Run("Release", func(t *testing.T) {
		tok := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour)))
		_, ok := claim(tok, now)
		require.True(t, ok)
		later := now.Add(backoff)
		prev, ok := claim(tok, later)
		require.True(t, ok)
		require.Equal(t, now, prev)
		require.NoError(t, tb.ReleaseNotice(ctx, tok.ID, later, prev))
		prev, ok = claim(tok, later.Add(time.Minute))
		require.True(t, ok, "released: the next run claims it again")
		require.Equal(t, now, prev, "the release put back the previous notice's time")

		first := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour)))
		_, ok = claim(first, now)
		require.True(t, ok)
		require.NoError(t, tb.ReleaseNotice(ctx, first.ID, now, time.Time{}))
		_, ok = claim(first, now.Add(time.Minute))
		require.True(t, ok, "released to never notified: the next run retries")
		require.NoError(t, tb.ReleaseNotice(ctx, first.ID, now, time.Time{}), "a stale release is a no-op")
		_, ok = claim(first, now.Add(2*time.Minute))
		require.False(t, ok, "the stale release left the newer claim alone")
	})
	t.Run("StaleIndex", func(t *testing.T) {
		// The index is eventually consistent: a claim checks the item itself.
		revoked := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour)))
		seen := *revoked
		localtest.Change(t, tb, revoked, func(tok *token.Token) { tok.Status = token.StatusRevoked })
		_, ok := claim(&seen, now)
		require.False(t, ok, "revoked since the index was read")

		redated := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour)))
		seen = *redated
		localtest.Change(t, tb, redated, func(tok *token.Token) { tok.ExpiresAt = now.AddDate(0, 6, 0) })
		_, ok = claim(&seen, now)
		require.False(t, ok, "re-dated since the index was read")

		gone := localtest.NewToken(t, "alice", "t", now.Add(72*time.Hour))
		_, ok = claim(gone, now)
		require.False(t, ok, "deleted by TTL: no item is created")
	})
}
