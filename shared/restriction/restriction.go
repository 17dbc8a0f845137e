// Package restriction holds what limits a token's requests beyond its scopes: IP
// allowlists, rate limits, time windows (a token's own, as a Set, and those it inherits
// from its lineage, as Bounds), how each is checked and how one is compared with another
// ("within": no looser), and the RateCounter that counts requests per Key across every
// authorizer instance. It knows no token: the token package holds a token's Set and
// Bounds, the authorizer applies them.
package restriction

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"tokengate/shared/fault"
)

// Set is a token's restrictions: its security settings, checked by the authorizer on every
// request. Emergency access lifts the IP allowlist and the time window, never the rate
// limit or the scopes.
type Set struct {
	IPAllowlist     []netip.Prefix // empty: any address
	RateLimit       *RateLimit     // nil: unlimited
	TimeRestriction *TimeWindow    // nil: any time

	// Who set each restriction (the principal whose authority the call carried): a
	// restriction another principal set binds the owner, who can tighten it but needs
	// tokens:admin to loosen or clear it. Empty: the token's creator.
	IPAllowlistSetBy     string
	RateLimitSetBy       string
	TimeRestrictionSetBy string
}

// IsZero reports whether nothing is restricted.
func (r Set) IsZero() bool {
	return len(r.IPAllowlist) == 0 && r.RateLimit == nil && r.TimeRestriction == nil
}

// RateLimit allows Limit requests per fixed window of one Per.
type RateLimit struct {
	Limit int    `json:"limit"`
	Per   string `json:"per"` // second, minute, hour, day
}

// Window is the length of the rate limit's window.
func (r RateLimit) Window() time.Duration {
	switch r.Per {
	case "second":
		return time.Second
	case "minute":
		return time.Minute
	case "hour":
		return time.Hour
	case "day":
		return 24 * time.Hour
	}
	return 0
}

// MaxRateLimit bounds a rate limit's count.
const MaxRateLimit = 1_000_000

// TimeWindow allows requests on the given UTC days from StartHour to EndHour (exclusive).
type TimeWindow struct {
	Days      []string `json:"days"` // mon … sun
	StartHour int      `json:"startHour"`
	EndHour   int      `json:"endHour"`
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Allows reports whether t (in UTC) falls inside the window.
func (w TimeWindow) Allows(t time.Time) bool {
	t = t.UTC()
	if !slices.Contains(w.Days, dayNames[t.Weekday()]) {
		return false
	}
	return t.Hour() >= w.StartHour && t.Hour() < w.EndHour
}

// AllowsIP reports whether ip may use the token: always when no allowlist is set, never
// when the address is missing or unparsable (a TOKEN authorizer event has none).
func (r Set) AllowsIP(ip string) bool {
	if len(r.IPAllowlist) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.IPAllowlist {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// MaxAllowlist bounds the entries of an IP allowlist.
const MaxAllowlist = 100

// ParseAllowlist reads addresses and CIDRs (IPv4 or IPv6); a bare address is a /32 or /128.
func ParseAllowlist(bad *fault.InvalidError, in []string) []netip.Prefix {
	if len(in) > MaxAllowlist {
		bad.Add("ipAllowlist", fmt.Sprintf("at most %d entries", MaxAllowlist))
		return nil
	}
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		field := fmt.Sprintf("ipAllowlist[%d]", i)
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				bad.Add(field, fmt.Sprintf("%q is not an IPv4 or IPv6 CIDR such as 203.0.113.0/24", fault.Excerpt(s, 64)))
				continue
			}
			if p.Addr().Zone() != "" {
				bad.Add(field, fmt.Sprintf("%q has a zone: give a CIDR without one", fault.Excerpt(s, 64)))
				continue
			}
			if p.Addr().Is4In6() {
				// An IPv4-mapped range means its IPv4 form, as a single mapped address
				// does; one wider than the mapped space names no IPv4 address and is refused.
				if p.Bits() < 96 {
					bad.Add(field, fmt.Sprintf("%q spans beyond the IPv4-mapped range ::ffff:0:0/96; give the IPv4 CIDR instead", fault.Excerpt(s, 64)))
					continue
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			bad.Add(field, fmt.Sprintf("%q is not an IPv4 or IPv6 address or CIDR", fault.Excerpt(s, 64)))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

// CheckRateLimit validates a rate limit.
func CheckRateLimit(bad *fault.InvalidError, r *RateLimit) {
	if r == nil {
		return
	}
	if r.Limit < 1 || r.Limit > MaxRateLimit {
		bad.Add("rateLimit.limit", fmt.Sprintf("must be a whole number from 1 to %d", MaxRateLimit))
	}
	if r.Window() == 0 {
		bad.Add("rateLimit.per", "must be second, minute, hour or day")
	}
}

// CheckTimeWindow validates and normalises a time window (day names lower-cased, in
// week order, once each).
func CheckTimeWindow(bad *fault.InvalidError, w *TimeWindow) {
	if w == nil {
		return
	}
	if len(w.Days) == 0 {
		bad.Add("timeRestriction.days", "at least one day is required (mon, tue, wed, thu, fri, sat, sun)")
	}
	var days []string
	for i, d := range w.Days {
		d = strings.ToLower(strings.TrimSpace(d))
		if !slices.Contains(dayNames, d) {
			bad.Add(fmt.Sprintf("timeRestriction.days[%d]", i), fmt.Sprintf("%q is not a day: use mon, tue, wed, thu, fri, sat or sun", fault.Excerpt(d, 20)))
			continue
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b string) int {
		return (slices.Index(dayNames, a)+6)%7 - (slices.Index(dayNames, b)+6)%7
	})
	w.Days = days
	if w.StartHour < 0 || w.StartHour > 23 {
		bad.Add("timeRestriction.startHour", "must be from 0 to 23 (UTC)")
	}
	if w.EndHour < 1 || w.EndHour > 24 {
		bad.Add("timeRestriction.endHour", "must be from 1 to 24 (UTC, exclusive)")
	} else if w.EndHour <= w.StartHour {
		bad.Add("timeRestriction.endHour", "must be after startHour")
	}
}

// SetBy records who set the restrictions that are set, for those chosen.
func (r *Set) SetBy(who string, ip, rate, window bool) {
	if ip {
		r.IPAllowlistSetBy = ""
		if len(r.IPAllowlist) > 0 {
			r.IPAllowlistSetBy = who
		}
	}
	if rate {
		r.RateLimitSetBy = ""
		if r.RateLimit != nil {
			r.RateLimitSetBy = who
		}
	}
	if window {
		r.TimeRestrictionSetBy = ""
		if r.TimeRestriction != nil {
			r.TimeRestrictionSetBy = who
		}
	}
}

// AllowlistWithin reports whether every address next allows, old allows too: next
// tightens or keeps old. An empty list allows every address.
func AllowlistWithin(next, old []netip.Prefix) bool {
	if len(old) == 0 {
		return true
	}
	if len(next) == 0 {
		return false
	}
	for _, n := range next {
		inside := false
		for _, o := range old {
			if o.Bits() <= n.Bits() && o.Contains(n.Addr()) {
				inside = true
				break
			}
		}
		if !inside {
			return false
		}
	}
	return true
}

// RateWithin reports whether next allows no more than old in any of old's windows:
// no longer a window, and no higher a rate. nil is unlimited.
func RateWithin(next, old *RateLimit) bool {
	if old == nil {
		return true
	}
	if next == nil {
		return false
	}
	nw, ow := next.Window(), old.Window()
	return nw <= ow && int64(next.Limit)*int64(ow/time.Second) <= int64(old.Limit)*int64(nw/time.Second)
}

// WindowWithin reports whether next allows only times old allows. nil is any time.
func WindowWithin(next, old *TimeWindow) bool {
	if old == nil {
		return true
	}
	if next == nil {
		return false
	}
	for _, d := range next.Days {
		if !slices.Contains(old.Days, d) {
			return false
		}
	}
	return next.StartHour >= old.StartHour && next.EndHour <= old.EndHour
}

// Bounds are what a token's lineage imposes on it, on top of its own Set: the
// effective restrictions of the token that minted it, copied when it was minted (its
// parent's own and the parent's bounds), so that a child never sheds what bounds its
// parent. They are set once at issuance and never change: no update, rotation or
// approval loosens them, whoever asks. Emergency access lifts the IP and time bounds as
// it lifts the token's own; rate bounds always apply.
type Bounds struct {
	IPAllowlists [][]netip.Prefix // every one must allow the address
	TimeWindows  []TimeWindow     // every one must allow the time
	Rates        []RateBound      // every counter must have room
}

// RateBound is an ancestor's rate limit that a token counts against: requests of every
// token in the family take from the one counter of Key (the ancestor's id), so N children
// never get N times the ancestor's rate.
type RateBound struct {
	Key   Key
	Limit RateLimit
}

// IsZero reports whether the lineage imposes nothing.
func (b Bounds) IsZero() bool {
	return len(b.IPAllowlists) == 0 && len(b.TimeWindows) == 0 && len(b.Rates) == 0
}

// MaxBounds bounds how many restrictions a lineage may pile up (each kind): a family
// deeper than this in restricted ancestors cannot mint further.
const MaxBounds = 8

// AllowsIP reports whether every allowlist of the bounds allows ip.
func (b Bounds) AllowsIP(ip string) bool {
	for _, l := range b.IPAllowlists {
		if !(Set{IPAllowlist: l}).AllowsIP(ip) {
			return false
		}
	}
	return true
}

// AllowsTime reports whether every time window of the bounds allows t.
func (b Bounds) AllowsTime(t time.Time) bool {
	for _, w := range b.TimeWindows {
		if !w.Allows(t) {
			return false
		}
	}
	return true
}

// BoundsWithin reports whether next restricts at least as much as old: every allowlist
// of old has one in next inside it, every time window of old has one in next inside it,
// and every rate counter of old is one next counts against too (the same key, a limit no
// higher). A token whose limits are within its caller's carries no more than the caller
// could have been given directly.
func BoundsWithin(next, old Bounds) bool {
	for _, o := range old.IPAllowlists {
		if !slices.ContainsFunc(next.IPAllowlists, func(n []netip.Prefix) bool { return len(n) > 0 && AllowlistWithin(n, o) }) {
			return false
		}
	}
	for _, o := range old.TimeWindows {
		if !slices.ContainsFunc(next.TimeWindows, func(n TimeWindow) bool { return WindowWithin(&n, &o) }) {
			return false
		}
	}
	for _, o := range old.Rates {
		if !slices.ContainsFunc(next.Rates, func(n RateBound) bool { return n.Key == o.Key && RateWithin(&n.Limit, &o.Limit) }) {
			return false
		}
	}
	return true
}

// Key is what a rate counter counts: a token (TokenKey) or a source address on one
// route (SourceKey). The two never collide: a token id has no "#".
type Key string

// TokenKey is the counter of a token's own rate limit, shared by every token that
// inherits it (RateBound).
func TokenKey(id string) Key { return Key(id) }

// SourceKey is the counter of the requests from one source address to one unauthenticated
// route (kind: "leak", "enroll"), which no token identifies.
func SourceKey(kind, source string) Key { return Key(kind + "#" + source) }

// RateCounter counts requests per key and window across every instance (shared/store
// implements it on the table): a token's rate limit in the authorizer, and the
// per-source limits of leak reports and enrollment (SourceKey).
type RateCounter interface {
	// TakeRate counts one request of key in the window starting at window, per long,
	// and reports whether it is within limit; on an error, callers refuse the request.
	TakeRate(ctx context.Context, key Key, window time.Time, per time.Duration, limit int) (bool, error)
}
