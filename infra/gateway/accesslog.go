package gateway

import (
	"io"
	"strconv"
	"sync"
	"time"

	"tokengate/shared/jsonline"
)

// accessLog writes the access log line of each request straight to a writer, in one
// Write: the fields, names and shape slog's JSON handler gives them ("time", "level",
// "msg", then the attributes), formatted by hand into a reused buffer. It is the
// default log; a logger given in Options goes through slog.
type accessLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

type accessLine struct {
	at       time.Time
	method   string
	path     string
	status   int
	duration time.Duration
	function string
}

func (l *accessLog) write(e accessLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], `{"time":"`...)
	b = e.at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","method":`...)
	b = jsonline.AppendString(b, e.method)
	b = append(b, `,"path":`...)
	b = jsonline.AppendString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, e.duration)
	b = append(b, `,"function":`...)
	b = jsonline.AppendString(b, e.function)
	b = append(b, "}\n"...)
	_, _ = l.w.Write(b)
	if cap(b) <= 4096 { // keep the buffer, unless an odd path made it large
		l.buf = b
	}
}

// durationMs is a duration in milliseconds with microsecond precision.
func durationMs(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// appendMillis appends durationMs(d) as strconv.AppendFloat(b, durationMs(d), 'f', -1, 64)
// (and so slog) writes it, from the integer microseconds: the shortest decimal of a
// float64 with at most 15 significant digits is those digits.
func appendMillis(b []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 {
		b, us = append(b, '-'), -us
	}
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	return append(append(b, '.'), digits[:n]...)
}
