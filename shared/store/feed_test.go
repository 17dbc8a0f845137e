package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/access"
	"tokengate/shared/authorizer"
	"tokengate/shared/fault"
	"tokengate/shared/store"
)

// feedOf reads tb's change feed since since, as the authorizer does.
func feedOf(t *testing.T, tb *store.Table, since time.Time) []string {
	t.Helper()
	var got []string
	require.NoError(t, tb.ReadFeed(context.Background(), since, time.Now().Add(2*time.Second), func(kind, id string, at time.Time) {
		require.WithinDuration(t, time.Now(), at, 5*time.Second)
		got = append(got, kind+" "+id)
	}))
	return got
}

// TestFeedRecordsEveryChange: a token changed, a principal changed or deleted each put
// one feed item in the transaction of the change; a new token or principal puts none, a
// write that loses its race none either.
func TestFeedRecordsEveryChange(t *testing.T) {
	require.Equal(t, authorizer.FeedToken, store.FeedToken)
	require.Equal(t, authorizer.FeedPrincipal, store.FeedPrincipal)
	ctx := context.Background()
	tb := localtest.Table(t)
	start := time.Now()
	owner := &access.Principal{ID: "fiona", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, owner, 0))
	tok, ev := newToken(t, owner)
	require.NoError(t, tb.Put(ctx, tok, 0, ev))
	require.Empty(t, feedOf(t, tb, start), "new items change nothing cached")

	tok.Version, tok.Name = 2, "renamed"
	ev.ID, ev.Version = localtest.Name("ev"), 2
	require.NoError(t, tb.Put(ctx, tok, 1, ev))
	require.ErrorIs(t, tb.Put(ctx, tok, 1), fault.ErrConflict, "lost race: nothing written")
	owner.Version, owner.Scopes = 2, nil
	require.NoError(t, tb.PutPrincipal(ctx, owner, 1))
	require.ErrorIs(t, tb.PutPrincipal(ctx, owner, 1), fault.ErrConflict)
	require.ErrorIs(t, tb.DeletePrincipal(ctx, "fiona", 1), fault.ErrConflict)
	require.NoError(t, tb.DeletePrincipal(ctx, "fiona", 2))
	require.Equal(t, []string{"token " + string(tok.ID), "principal fiona", "principal fiona"}, feedOf(t, tb, start))
	require.Empty(t, feedOf(t, tb, time.Now().Add(time.Second)), "a read from later finds nothing")
}

// TestFeedReadsAcrossBuckets: a range that spans bucket ends reads each bucket.
func TestFeedReadsAcrossBuckets(t *testing.T) {
	ctx := context.Background()
	tb := localtest.Table(t)
	p := &access.Principal{ID: "gil", Scopes: []string{access.TokensRead}, Version: 1}
	require.NoError(t, tb.PutPrincipal(ctx, p, 0))
	var n int
	require.NoError(t, tb.ReadFeed(ctx, time.Now().Add(-5*store.FeedBucket), time.Now().Add(time.Second), func(string, string, time.Time) { n++ }))
	require.Zero(t, n)
	p.Version = 2
	require.NoError(t, tb.PutPrincipal(ctx, p, 1))
	require.NoError(t, tb.ReadFeed(ctx, time.Now().Add(-5*store.FeedBucket), time.Now().Add(time.Second), func(string, string, time.Time) { n++ }))
	require.Equal(t, 1, n)
	require.Equal(t, "FEED#1200", store.FeedPartition(time.Unix(1799, 0)))
	require.Equal(t, "FEED#-600", store.FeedPartition(time.Unix(-1, 0)))
}
