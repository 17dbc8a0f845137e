package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestAccessLogMatchesSlog: the default access log line is what slog's JSON handler
// writes for the same request, field for field and in the same order, including odd
// paths, which must come out as valid JSON on one line.
func TestAccessLogMatchesSlog(t *testing.T) {
	paths := []string{"/", "/demo/echo", `/a"b\c`, "/\x00\x1f\n", "/é/日本", "/\xff", "/<script>&"}
	durations := []time.Duration{0, time.Microsecond, 1234567 * time.Nanosecond, 3 * time.Second, 90 * time.Minute}
	l := &accessLog{}
	for i, p := range paths {
		for j, d := range durations {
			e := accessLine{at: time.Date(2026, 11, 29, 9, 4, 5, i*j*1000, time.UTC), method: "GET", path: p,
				status: 200 + i, duration: d, function: []string{"", "DemoEchoFunction"}[j%2]}
			var got, want bytes.Buffer
			l.w = &got
			l.write(e)
			r := slog.NewRecord(e.at, slog.LevelInfo, "request", 0)
			r.AddAttrs(slog.String("method", e.method), slog.String("path", e.path), slog.Int("status", e.status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("function", e.function))
			require.NoError(t, slog.NewJSONHandler(&want, nil).Handle(context.Background(), r))
			require.Equal(t, 1, bytes.Count(got.Bytes(), []byte("\n")), "one line")
			var g, w map[string]any
			require.NoError(t, json.Unmarshal(got.Bytes(), &g), got.String())
			require.NoError(t, json.Unmarshal(want.Bytes(), &w))
			require.Equal(t, w, g, "path %q, duration %v", p, d)
			if utf8.ValidString(p) && !bytes.ContainsAny([]byte(p), "<>&") {
				require.Equal(t, want.String(), got.String(), "byte for byte")
			}
		}
	}
}

// TestAppendMillis: the hand-made milliseconds are strconv's, for every duration a
// request can take (under a year), negative ones included.
func TestAppendMillis(t *testing.T) {
	check := func(t require.TestingT, d time.Duration) {
		want := strconv.AppendFloat(nil, durationMs(d), 'f', -1, 64)
		require.Equal(t, string(want), string(appendMillis(nil, d)), "%v", d)
	}
	for _, d := range []time.Duration{0, 999, time.Microsecond, 10 * time.Microsecond, 100 * time.Microsecond,
		time.Millisecond, 1001 * time.Microsecond, 1010 * time.Microsecond, 1100 * time.Microsecond,
		1234567 * time.Nanosecond, -1500 * time.Microsecond, -time.Microsecond, 365 * 24 * time.Hour} {
		check(t, d)
	}
	rapid.Check(t, func(t *rapid.T) {
		check(t, time.Duration(rapid.Int64Range(-int64(365*24*time.Hour), int64(365*24*time.Hour)).Draw(t, "d")))
	})
}
