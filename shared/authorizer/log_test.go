package authorizer_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/authorizer"
	"tokengate/shared/token"
)

// lines is a Config.Log that keeps what was written.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// decoded is every line written, each a JSON object.
func decoded(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "" {
			continue
		}
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		out = append(out, v)
	}
	return out
}

func TestLogsOneLinePerDecisionWithoutTheSecret(t *testing.T) {
	w := newWorld()
	log := &lines{}
	a := w.authorizer(authorizer.Config{CacheTTL: time.Minute, Log: log})
	tok, s := w.token(nil)
	_, revoked := w.token(func(t *token.Token) { t.Status = token.StatusRevoked })
	require.True(t, check(a, s).Allow)
	require.True(t, check(a, s).Allow) // cached: logged as well
	require.False(t, check(a, revoked).Allow)

	got := decoded(t, log.String())
	require.Len(t, got, 3)
	for _, v := range got[:2] {
		require.Equal(t, "authorizer decision", v["msg"])
		require.Equal(t, "INFO", v["level"])
		require.Equal(t, string(tok.ID), v["tokenId"])
		require.Equal(t, true, v["allow"])
		require.Equal(t, "ok", v["reason"])
		require.Equal(t, "GET /things", v["route"])
		require.Equal(t, "203.0.113.9", v["sourceIp"])
		require.Contains(t, v, "latencyUs")
		_, err := time.Parse(time.RFC3339Nano, v["time"].(string))
		require.NoError(t, err)
		require.NotContains(t, v, "garbageNotLogged")
	}
	require.Equal(t, "inactive", got[2]["reason"])
	require.Equal(t, false, got[2]["allow"])
	for _, secret := range []string{s, revoked} {
		require.NotContains(t, log.String(), secret[len(secret)-30:], "never the secret")
	}
}

func TestLogsAStoreFailureAsAnError(t *testing.T) {
	w := newWorld()
	log := &lines{}
	a := w.authorizer(authorizer.Config{Log: log})
	_, s := w.token(nil)
	w.tokens.failWith(errDown)
	require.Equal(t, authorizer.ReasonStoreFailed, reason(a, s))
	got := decoded(t, log.String())
	require.Len(t, got, 1)
	require.Equal(t, "ERROR", got[0]["level"], "what the template's store-error alarm counts")
	require.Equal(t, "store_error", got[0]["reason"])
}

// TestLogsGarbageAtMostOnceASecond: malformed and forged strings cost nothing else, so a
// flood of them could flood the log; the line after a quiet second says how many were
// left out.
func TestLogsGarbageAtMostOnceASecond(t *testing.T) {
	t.Parallel()
	w := newWorld()
	log := &lines{}
	a := w.authorizer(authorizer.Config{Log: log})
	_, s := w.token(nil)
	for range 5 {
		require.Equal(t, authorizer.ReasonMalformed, reason(a, mistype(s)))
	}
	require.True(t, check(a, s).Allow, "a valid token is always logged")
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, authorizer.ReasonMalformed, reason(a, "tg_garbage"))

	got := decoded(t, log.String())
	require.Len(t, got, 3, log.String())
	require.Equal(t, "malformed", got[0]["reason"])
	require.NotContains(t, got[0], "garbageNotLogged")
	require.Equal(t, "ok", got[1]["reason"])
	require.Equal(t, "malformed", got[2]["reason"])
	require.EqualValues(t, 4, got[2]["garbageNotLogged"])
}

// TestLogsThroughSlogWithoutALogWriter: with no Config.Log, the line goes to slog's
// default handler with the same fields; a handler that drops INFO drops the line.
func TestLogsThroughSlogWithoutALogWriter(t *testing.T) {
	w := newWorld()
	_, s := w.token(nil)
	a := authorizer.New(authorizer.Config{Tokens: w.tokens, Keys: w.keys, Prefix: "tg", Now: w.clock.Now})
	var buf bytes.Buffer
	old := slog.Default()
	defer slog.SetDefault(old)

	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	require.True(t, check(a, s).Allow)
	require.Equal(t, authorizer.ReasonMalformed, reason(a, mistype(s)))
	require.Equal(t, authorizer.ReasonMalformed, reason(a, mistype(s))) // within the second: left out
	got := decoded(t, buf.String())
	require.Len(t, got, 2, buf.String())
	require.Equal(t, "authorizer decision", got[0]["msg"])
	require.Equal(t, "ok", got[0]["reason"])
	require.Equal(t, "GET /things", got[0]["route"])
	require.Equal(t, "malformed", got[1]["reason"])
	require.NotContains(t, buf.String(), s[len(s)-30:])

	buf.Reset()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})))
	require.True(t, check(a, s).Allow)
	require.Empty(t, buf.String(), "INFO is off")
	w.tokens.failWith(errDown)
	require.Equal(t, authorizer.ReasonStoreFailed, reason(a, s))
	got = decoded(t, buf.String())
	require.Len(t, got, 2, "the lookup's error, then the decision")
	require.Equal(t, "authorizer lookup failed", got[0]["msg"])
	require.Equal(t, "store_error", got[1]["reason"])
	require.Equal(t, "ERROR", got[1]["level"])

	buf.Reset()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, authorizer.ReasonMalformed, reason(a, "tg_x"))
	got = decoded(t, buf.String())
	require.Len(t, got, 1)
	require.EqualValues(t, 1, got[0]["garbageNotLogged"])
}

func TestLogsATokenWhoseStoredDataDoesNotParse(t *testing.T) {
	w := newWorld()
	_, s := w.token(func(t *token.Token) { t.Unreadable = []string{"rateLimit"} })
	a := w.authorizer(authorizer.Config{})
	var buf bytes.Buffer
	old := slog.Default()
	defer slog.SetDefault(old)
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	require.Equal(t, authorizer.ReasonBadData, reason(a, s))
	require.Contains(t, buf.String(), `"fields":["rateLimit"]`)
}
