package authorizer

import (
	"io"
	"strconv"
	"sync"
	"time"

	"tokengate/shared/jsonline"
)

// decisionLog writes each decision's JSON line straight to a writer, in one Write: the
// fields, names and shape of slog's JSON handler ("time", "level", "msg", then the
// attributes), formatted by hand into a reused buffer, so a decision costs no generic
// attribute handling and no allocation. It never sees the token.
type decisionLog struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	// The time as time.RFC3339Nano, in parts: up to the seconds and the zone are
	// formatted once a second.
	sec        int64
	secs, zone []byte
}

type decisionLine struct {
	at        time.Time
	level     string // "INFO" or "ERROR"
	tokenID   string
	allow     bool
	reason    string
	route     string
	sourceIP  string
	latencyUs int64
	garbage   int64 // > 0: also "garbageNotLogged"
}

func (l *decisionLog) write(e decisionLine) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], `{"time":"`...)
	b = l.appendTime(b, e.at)
	b = append(b, `","level":"`...)
	b = append(b, e.level...)
	b = append(b, `","msg":"authorizer decision","tokenId":`...)
	b = jsonline.AppendString(b, e.tokenID)
	b = append(b, `,"allow":`...)
	b = strconv.AppendBool(b, e.allow)
	b = append(b, `,"reason":`...)
	b = jsonline.AppendString(b, e.reason)
	b = append(b, `,"route":`...)
	b = jsonline.AppendString(b, e.route)
	b = append(b, `,"sourceIp":`...)
	b = jsonline.AppendString(b, e.sourceIP)
	b = append(b, `,"latencyUs":`...)
	b = strconv.AppendInt(b, e.latencyUs, 10)
	if e.garbage > 0 {
		b = append(b, `,"garbageNotLogged":`...)
		b = strconv.AppendInt(b, e.garbage, 10)
	}
	b = append(b, "}\n"...)
	_, _ = l.w.Write(b)
	if cap(b) <= 4096 { // keep the buffer, unless an odd route made it large
		l.buf = b
	}
}

// appendTime appends t as t.AppendFormat(b, time.RFC3339Nano) does (what slog's JSON
// handler writes), reusing the parts that change once a second.
func (l *decisionLog) appendTime(b []byte, t time.Time) []byte {
	if sec := t.Unix(); sec != l.sec || l.secs == nil {
		l.sec = sec
		l.secs = t.AppendFormat(l.secs[:0], "2006-01-02T15:04:05")
		l.zone = t.AppendFormat(l.zone[:0], "Z07:00")
	}
	b = append(b, l.secs...)
	if ns := t.Nanosecond(); ns != 0 { // nine digits, trailing zeros dropped
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, l.zone...)
}
