package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/infra/localtest"
	"tokengate/shared/token"
)

// TestUnreadableItemLoggedByID: a listing that meets an item that does not decode logs
// its id and goes on; Expiring names it in a SkippedError beside the readable tokens.
// Not parallel: it reads the default logger, which the store logs to.
func TestUnreadableItemLoggedByID(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	tb := localtest.Table(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	good := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "good", now.Add(24*time.Hour)))
	bad := localtest.PutToken(t, tb, localtest.NewToken(t, "alice", "bad", now.Add(25*time.Hour)))
	localtest.Corrupt(t, tb, bad.ID)

	toks, err := tb.Expiring(ctx, now, now.Add(48*time.Hour))
	var skipped *token.SkippedError
	require.True(t, errors.As(err, &skipped), "%v", err)
	require.Equal(t, []token.ID{bad.ID}, skipped.IDs)
	require.Len(t, toks, 1)
	require.Equal(t, good.ID, toks[0].ID)

	page, _, err := tb.List(ctx, token.Filter{OwnerID: "alice"})
	require.NoError(t, err)
	require.Len(t, page, 1)

	_, err = tb.Get(ctx, bad.ID)
	require.Error(t, err, "a single read of it fails: the authorizer refuses it")

	var lines int
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m["msg"] == "stored token item does not decode: skipped" {
			require.Equal(t, string(bad.ID), m["tokenId"])
			lines++
		}
	}
	require.Equal(t, 2, lines, "one line per read that met it")
}
