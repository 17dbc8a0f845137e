package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDecisionLogMatchesSlog: the hand-formatted decision line is, field for field and
// byte for byte in its time, what slog's JSON handler writes for the same decision,
// including the caller's odd routes and addresses, which must come out as valid JSON.
func TestDecisionLogMatchesSlog(t *testing.T) {
	zone := time.FixedZone("x", -(3*3600 + 30*60))
	times := []time.Time{
		time.Date(2026, 11, 29, 9, 4, 5, 0, time.UTC),
		time.Date(2026, 11, 29, 9, 4, 5, 120000000, time.UTC),
		time.Date(2026, 11, 29, 9, 4, 5, 123456789, time.UTC),
		time.Date(2026, 11, 29, 9, 4, 5, 1000, zone),
		time.Date(2026, 11, 29, 9, 4, 6, 10, time.UTC), // the next second: a new prefix
		time.Date(2026, 11, 29, 9, 4, 6, 999999999, time.UTC),
		time.Now(),
	}
	odd := []string{"", "GET /orders", `GET /a"b\c`, "GET /\x00\x1f\n\t", "GET /é/日本", "GET /\xff\xfe", "<script>&", "\u2028"}
	l := &decisionLog{}
	for i, at := range times {
		for j, s := range odd {
			e := decisionLine{at: at, level: "INFO", tokenID: "tg" + s, allow: j%2 == 0, reason: string(ReasonOK),
				route: s, sourceIP: odd[(j+1)%len(odd)], latencyUs: int64(i * j), garbage: int64(j % 3)}
			if j == 3 {
				e.level = "ERROR"
			}
			var got bytes.Buffer
			l.w = &got
			l.write(e)

			var want bytes.Buffer
			r := slog.NewRecord(e.at, slog.LevelInfo, "authorizer decision", 0)
			if e.level == "ERROR" {
				r.Level = slog.LevelError
			}
			r.AddAttrs(slog.String("tokenId", e.tokenID), slog.Bool("allow", e.allow), slog.String("reason", e.reason),
				slog.String("route", e.route), slog.String("sourceIp", e.sourceIP), slog.Int64("latencyUs", e.latencyUs))
			if e.garbage > 0 {
				r.AddAttrs(slog.Int64("garbageNotLogged", e.garbage))
			}
			require.NoError(t, slog.NewJSONHandler(&want, nil).Handle(context.Background(), r))

			require.True(t, bytes.HasSuffix(got.Bytes(), []byte("}\n")), "one line")
			require.Equal(t, 1, bytes.Count(got.Bytes(), []byte("\n")), "one line")
			var g, w map[string]any
			require.NoError(t, json.Unmarshal(got.Bytes(), &g), got.String())
			require.NoError(t, json.Unmarshal(want.Bytes(), &w))
			require.Equal(t, w, g, "time %v, string %q", at, s)
			require.Equal(t, keys(want.Bytes()), keys(got.Bytes()), "the same fields in the same order")
		}
	}
}

// keys lists a JSON object's keys in order.
func keys(line []byte) []string {
	d := json.NewDecoder(bytes.NewReader(line))
	_, _ = d.Token() // {
	var ks []string
	for d.More() {
		k, _ := d.Token()
		ks = append(ks, k.(string))
		var v json.RawMessage
		_ = d.Decode(&v)
	}
	return ks
}
