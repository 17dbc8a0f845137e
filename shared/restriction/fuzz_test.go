package restriction_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

// FuzzAllowlist: any comma-separated list of entries, as an ipAllowlist.
// Properties: no panic; entries refused are named (ipAllowlist[i]) and left out, the
// others kept in order; every prefix kept is masked, has no zone and no IPv4-mapped form,
// and parses back from its String() to itself (round trip), so what is stored reads back
// as what was checked; an address the prefix holds is allowed, one outside it is not.
func FuzzAllowlist(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24", "10.0.0.1", "::ffff:10.1.0.0/112", "2001:db8::/32,fe80::1%eth0", "::ffff:0:0/80", " 192.0.2.1 ", "1.2.3.4/33", ""} {
		f.Add(s, "203.0.113.9")
	}
	f.Fuzz(func(t *testing.T, list, ip string) {
		in := strings.Split(list, ",")
		bad := &fault.InvalidError{}
		out := restriction.ParseAllowlist(bad, in)
		if len(in) > restriction.MaxAllowlist {
			if bad.Err() == nil || len(out) != 0 {
				t.Fatal("an oversized list is refused whole")
			}
			return
		}
		if len(out)+len(bad.Fields) != len(in) {
			t.Fatalf("%d entries: %d kept, %d refused", len(in), len(out), len(bad.Fields))
		}
		for _, p := range out {
			if p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("%s is not stored in its plain masked form", p)
			}
			back, err := netip.ParsePrefix(p.String())
			if err != nil || back != p {
				t.Fatalf("%s does not read back: %v", p, err)
			}
			again := restriction.ParseAllowlist(&fault.InvalidError{}, []string{p.String()})
			if len(again) != 1 || again[0] != p {
				t.Fatalf("%s parsed again is %v", p, again)
			}
		}
		r := restriction.Set{IPAllowlist: out}
		a, err := netip.ParseAddr(ip)
		if len(out) == 0 || err != nil {
			return
		}
		holds := slices.ContainsFunc(out, func(p netip.Prefix) bool { return p.Contains(a.Unmap()) })
		if a.Zone() == "" && r.AllowsIP(ip) != holds {
			t.Fatalf("AllowsIP(%s) = %v, but the allowlist %v holds it: %v", ip, r.AllowsIP(ip), out, holds)
		}
	})
}

// FuzzTimeWindow: any days, start and end hour.
// Properties: no panic; a window accepted is normalised (known lower-case days, once
// each, in week order) and checking it again changes nothing (idempotent); a refused
// window allows nothing to be assumed, and an accepted one allows exactly the hours
// [start, end) of its days.
func FuzzTimeWindow(f *testing.F) {
	f.Add("mon,tue,wed,thu,fri", 9, 18)
	f.Add("SUN, sat ,sun", 0, 24)
	f.Add("mon", 18, 9)
	f.Add("", 0, 1)
	f.Add("funday", -1, 25)
	f.Fuzz(func(t *testing.T, days string, start, end int) {
		w := &restriction.TimeWindow{Days: strings.Split(days, ","), StartHour: start, EndHour: end}
		bad := &fault.InvalidError{}
		restriction.CheckTimeWindow(bad, w)
		if bad.Err() != nil {
			return
		}
		again := &restriction.TimeWindow{Days: slices.Clone(w.Days), StartHour: w.StartHour, EndHour: w.EndHour}
		bad2 := &fault.InvalidError{}
		restriction.CheckTimeWindow(bad2, again)
		if bad2.Err() != nil || !slices.Equal(again.Days, w.Days) {
			t.Fatalf("checking %+v again gave %+v, %v", w, again, bad2.Err())
		}
		week := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
		if !slices.IsSortedFunc(w.Days, func(a, b string) int { return slices.Index(week, a) - slices.Index(week, b) }) || len(slices.Compact(slices.Clone(w.Days))) != len(w.Days) {
			t.Fatalf("days not normalised: %v", w.Days)
		}
		monday := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)
		for h := 0; h < 7*24; h++ {
			at := monday.Add(time.Duration(h) * time.Hour)
			want := slices.Contains(w.Days, week[h/24]) && at.Hour() >= start && at.Hour() < end
			if w.Allows(at) != want {
				t.Fatalf("%+v at %s: allows %v", w, at, !want)
			}
		}
	})
}
