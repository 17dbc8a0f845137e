package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
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
