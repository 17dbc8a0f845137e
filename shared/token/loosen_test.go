package token_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"tokengate/shared/fault"
	"tokengate/shared/token"
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
			require.Equal(t, tt.want, token.AllowlistWithin(tt.next, tt.old))
		})
	}
	rate := []struct {
		name      string
		next, old *token.RateLimit
		want      bool
	}{
		{"set where none was", &token.RateLimit{Limit: 10, Per: "hour"}, nil, true},
		{"cleared", nil, &token.RateLimit{Limit: 10, Per: "hour"}, false},
		{"lower", &token.RateLimit{Limit: 5, Per: "hour"}, &token.RateLimit{Limit: 10, Per: "hour"}, true},
		{"higher", &token.RateLimit{Limit: 11, Per: "hour"}, &token.RateLimit{Limit: 10, Per: "hour"}, false},
		{"same rate, shorter window", &token.RateLimit{Limit: 1, Per: "minute"}, &token.RateLimit{Limit: 60, Per: "hour"}, true},
		{"higher rate, shorter window", &token.RateLimit{Limit: 2, Per: "minute"}, &token.RateLimit{Limit: 60, Per: "hour"}, false},
		{"a longer window allows bursts", &token.RateLimit{Limit: 100, Per: "day"}, &token.RateLimit{Limit: 10, Per: "hour"}, false},
	}
	for _, tt := range rate {
		t.Run("rate: "+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, token.RateWithin(tt.next, tt.old))
		})
	}
	window := []struct {
		name      string
		next, old *token.TimeWindow
		want      bool
	}{
		{"set where none was", &token.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, nil, true},
		{"cleared", nil, &token.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
		{"fewer days, shorter hours", &token.TimeWindow{Days: []string{"mon"}, StartHour: 10, EndHour: 12}, &token.TimeWindow{Days: []string{"mon", "tue"}, StartHour: 9, EndHour: 17}, true},
		{"another day", &token.TimeWindow{Days: []string{"sat"}, StartHour: 10, EndHour: 12}, &token.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
		{"earlier start", &token.TimeWindow{Days: []string{"mon"}, StartHour: 8, EndHour: 12}, &token.TimeWindow{Days: []string{"mon"}, StartHour: 9, EndHour: 17}, false},
	}
	for _, tt := range window {
		t.Run("window: "+tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, token.WindowWithin(tt.next, tt.old))
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
			got := token.ParseAllowlist(bad, []string{tt.in})
			if tt.bad {
				require.Error(t, bad.Err())
				return
			}
			require.NoError(t, bad.Err())
			require.Equal(t, tt.want, got[0].String())
			r := token.Restrictions{IPAllowlist: got}
			if got[0].Addr().Is4() {
				require.True(t, r.AllowsIP(got[0].Addr().String()), "the IPv4 address is allowed")
				require.True(t, r.AllowsIP("::ffff:"+got[0].Addr().String()), "and its mapped form, consistently")
			}
		})
	}
}
