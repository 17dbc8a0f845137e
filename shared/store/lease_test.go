package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/restriction"
)

// TestLeaseRate: leases add to the window's count up to the limit, the last one gets the
// remainder, then nothing; TakeRate shares the same count.
func TestLeaseRate(t *testing.T) {
	ctx := context.Background()
	tb := localtest.Table(t)
	id := restriction.TokenKey("lease0000000000000000000000000001")
	w := time.Now().UTC().Truncate(time.Minute)
	lease := func(n int) int {
		got, err := tb.LeaseRate(ctx, id, w, time.Minute, 10, n)
		require.NoError(t, err)
		return got
	}
	require.Equal(t, 4, lease(4))
	require.Equal(t, 4, lease(4))
	ok, err := tb.TakeRate(ctx, id, w, time.Minute, 10)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, lease(4), "the remainder")
	require.Equal(t, 0, lease(4))
	ok, err = tb.TakeRate(ctx, id, w, time.Minute, 10)
	require.NoError(t, err)
	require.False(t, ok)
	got, err := tb.LeaseRate(ctx, id, w.Add(time.Minute), time.Minute, 10, 30)
	require.NoError(t, err)
	require.Equal(t, 10, got, "a lease larger than the limit takes the limit")
}
