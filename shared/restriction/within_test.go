package restriction_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// What an owner may change alone: tightening. Anything else loosens and needs
// tokens:admin when another principal set the restriction.
func TestWithin(t *testing.T) {
	allow := []struct {
		name      string
		next, old []netip.Prefix
		want      bool
	}{
		{"no allowlist before: any list tightens", prefixes("10.0.0.0/8"), nil, true},
		{"removing the allowlist loosens", nil, prefixes("10.0.0.0/8"), false},
		{"a narrower range", prefixes("10.1.0.0/16"), prefixes("10.0.0.0/8"), true},
		{"a wider range", prefixes("10.0.0.0/7"), prefixes("10.0.0.0/8"), false},
		{"an added range", prefixes("10.0.0.0/8", "192.0.2.0/24"), prefixes("10.0.0.0/8"), false},
		{"one of two ranges", prefixes("192.0.2.1/32"), prefixes("10.0.0.0/8", "192.0.2.0/24"), true},
		{"IPv6 inside IPv4 never", prefixes("::/0"), prefixes("0.0.0.0/0"), false},
	}
	for _, tt := range allow {
		t.Run("allowlist: "+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, restriction.AllowlistWithin(tt.next, tt.old))
		})
	}
	rate := []struct {
		name      string
		next, old *restriction.RateLimit
		want      bool
	}{
		{"set where none was", &restriction.RateLimit{Limit: 10, Per: "hour"}, nil, true},
		{"cleared", nil, &restriction.RateLimit{Limit: 10, Per: "hour"}, false},
		{"lower", &restriction.RateLimit{Limit: 5, Per: "hour"}, &restriction.RateLimit{Limit: 10, Per: "hour"}, true},
		{"higher", &restriction.RateLimit{Limit: 11, Per: "hour"}, &restriction.RateLimit{Limit: 10, Per: "hour"}, false},
		{"same rate, shorter window", &restriction.RateLimit{Limit: 1, Per: "minute"}, &restriction.RateLimit{Limit: 60, Per: "hour"}, true},
		{"higher rate, shorter window", &restriction.RateLimit{Limit: 2, Per: "minute"}, &restriction.RateLimit{Limit: 60, Per: "hour"}, false},
		{"a longer window allows bursts", &restriction.RateLimit{Limit: 100, Per: "day"}, &restriction.RateLimit{Limit: 10, Per: "hour"}, false},
	}
	for _, tt := range rate {
		t.Run("rate: "+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, restriction.RateWithin(tt.next, tt.old))
		})
	}
	window := []struct {
		name      string
		next, old *restriction.TimeWindow
		want      bool
	}{
		{"set where none was", &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, nil, true},
		{"cleared", nil, &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
		{"fewer days, shorter hours", &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 10, EndHour: 12}, &restriction.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 9, EndHour: 17}, true},
		{"another day", &restriction.TimeWindow{Days: []string{"sat"}, StartHour: 10, EndHour: 12}, &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
		{"earlier start", &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 8, EndHour: 12}, &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
	}
	for _, tt := range window {
		t.Run("window: "+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, restriction.WindowWithin(tt.next, tt.old))
		})
	}
}

func TestAllowlistMappedIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string
		bad  bool
	}{
		{"::ffff:10.1.0.0/112", "10.1.0.0/16", false},
		{"::ffff:192.0.2.7", "192.0.2.7/32", false},
		{"::ffff:192.0.2.7/128", "192.0.2.7/32", false},
		{"::ffff:0:0/96", "0.0.0.0/0", false},
		{"::ffff:0:0/95", "", true},
		{"2001:db8::/32", "2001:db8::/32", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			bad := &fault.InvalidError{}
			got := restriction.ParseAllowlist(bad, []string{tt.in})
			if tt.bad {
				require.Error(t, bad.Err())
				return
			}
			require.NoError(t, bad.Err())
			require.Equal(t, tt.want, got[0].String())
			r := restriction.Set{IPAllowlist: got}
			if got[0].Addr().Is4() {
				require.True(t, r.AllowsIP(got[0].Addr().String()), "the IPv4 address is allowed")
				require.True(t, r.AllowsIP("::ffff:"+got[0].Addr().String()), "and its mapped form, consistently")
			}
		})
	}
}

func TestBoundsWithin(t *testing.T) {
	ten := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tenOne := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	week := restriction.TimeWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, StartHour: 8, EndHour: 18}
	monday := restriction.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 12}
	rate := func(key restriction.Key, n int) restriction.RateBound {
		return restriction.RateBound{Key: key, Limit: restriction.RateLimit{Limit: n, Per: "minute"}}
	}
	tests := []struct {
		rule      string
		next, old restriction.Bounds
		want      bool
	}{
		{"nothing within nothing", restriction.Bounds{}, restriction.Bounds{}, true},
		{"anything within nothing", restriction.Bounds{IPAllowlists: [][]netip.Prefix{ten}}, restriction.Bounds{}, true},
		{"nothing is not within an allowlist", restriction.Bounds{}, restriction.Bounds{IPAllowlists: [][]netip.Prefix{ten}}, false},
		{"a narrower allowlist", restriction.Bounds{IPAllowlists: [][]netip.Prefix{tenOne}}, restriction.Bounds{IPAllowlists: [][]netip.Prefix{ten}}, true},
		{"a wider allowlist", restriction.Bounds{IPAllowlists: [][]netip.Prefix{ten}}, restriction.Bounds{IPAllowlists: [][]netip.Prefix{tenOne}}, false},
		{"a narrower window", restriction.Bounds{TimeWindows: []restriction.TimeWindow{monday}}, restriction.Bounds{TimeWindows: []restriction.TimeWindow{week}}, true},
		{"a wider window", restriction.Bounds{TimeWindows: []restriction.TimeWindow{week}}, restriction.Bounds{TimeWindows: []restriction.TimeWindow{monday}}, false},
		{"the same counter", restriction.Bounds{Rates: []restriction.RateBound{rate("p", 10)}}, restriction.Bounds{Rates: []restriction.RateBound{rate("p", 10)}}, true},
		{"another counter", restriction.Bounds{Rates: []restriction.RateBound{rate("q", 1)}}, restriction.Bounds{Rates: []restriction.RateBound{rate("p", 10)}}, false},
		{"the same counter, a higher limit", restriction.Bounds{Rates: []restriction.RateBound{rate("p", 20)}}, restriction.Bounds{Rates: []restriction.RateBound{rate("p", 10)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			require.Equal(t, tt.want, restriction.BoundsWithin(tt.next, tt.old))
		})
	}
}
