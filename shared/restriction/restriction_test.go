package restriction_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tokengate/shared/fault"
	"tokengate/shared/restriction"
)

func TestParseAllowlist(t *testing.T) {
	tests := []struct {
		name     string
		in       []string
		want     []string
		badField string
	}{
		{"IPv4 address", []string{"203.0.113.7"}, []string{"203.0.113.7/32"}, ""},
		{"IPv4 CIDR, masked", []string{"203.0.113.77/24"}, []string{"203.0.113.0/24"}, ""},
		{"IPv6 address", []string{"2001:db8::1"}, []string{"2001:db8::1/128"}, ""},
		{"IPv6 CIDR", []string{"2001:db8::/32"}, []string{"2001:db8::/32"}, ""},
		{"IPv4-mapped IPv6 becomes IPv4", []string{"::ffff:203.0.113.7"}, []string{"203.0.113.7/32"}, ""},
		{"bad CIDR", []string{"203.0.113.0/33"}, nil, "ipAllowlist[0]"},
		{"host name", []string{"10.0.0.1", "example.com"}, nil, "ipAllowlist[1]"},
		{"empty entry", []string{""}, nil, "ipAllowlist[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := &fault.InvalidError{}
			got := restriction.ParseAllowlist(bad, tt.in)
			if tt.badField != "" {
				require.Error(t, bad.Err())
				require.Equal(t, tt.badField, bad.Fields[0].Field)
				return
			}
			require.NoError(t, bad.Err())
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			require.Equal(t, tt.want, s)
		})
	}
}

func TestAllowsIP(t *testing.T) {
	r := restriction.Set{IPAllowlist: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}}
	for ip, want := range map[string]bool{
		"203.0.113.9": true, "203.0.114.1": false, "2001:db8::5": true, "2001:db9::5": false,
		"::ffff:203.0.113.9": true, "": false, "garbage": false,
	} {
		require.Equal(t, want, r.AllowsIP(ip), ip)
	}
	require.True(t, restriction.Set{}.AllowsIP(""), "no allowlist: any address, even none")
}

func TestRateLimitAndTimeWindowValidation(t *testing.T) {
	tests := []struct {
		name   string
		rate   *restriction.RateLimit
		window *restriction.TimeWindow
		fields []string
	}{
		{"valid", &restriction.RateLimit{Limit: 1000, Per: "hour"}, &restriction.TimeWindow{Days: []string{"Mon", "fri"}, StartHour: 9, EndHour: 18}, nil},
		{"zero limit", &restriction.RateLimit{Limit: 0, Per: "hour"}, nil, []string{"rateLimit.limit"}},
		{"negative limit", &restriction.RateLimit{Limit: -5, Per: "day"}, nil, []string{"rateLimit.limit"}},
		{"unknown unit", &restriction.RateLimit{Limit: 5, Per: "week"}, nil, []string{"rateLimit.per"}},
		{"no days", nil, &restriction.TimeWindow{StartHour: 9, EndHour: 18}, []string{"timeRestriction.days"}},
		{"unknown day", nil, &restriction.TimeWindow{Days: []string{"mon", "funday"}, StartHour: 9, EndHour: 18}, []string{"timeRestriction.days[1]"}},
		{"hour out of range", nil, &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 24, EndHour: 25}, []string{"timeRestriction.startHour", "timeRestriction.endHour"}},
		{"end before start", nil, &restriction.TimeWindow{Days: []string{"mon"}, StartHour: 18, EndHour: 9}, []string{"timeRestriction.endHour"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := &fault.InvalidError{}
			restriction.CheckRateLimit(bad, tt.rate)
			restriction.CheckTimeWindow(bad, tt.window)
			var got []string
			for _, f := range bad.Fields {
				got = append(got, f.Field)
			}
			require.Equal(t, tt.fields, got)
		})
	}
	w := &restriction.TimeWindow{Days: []string{"FRI", "mon", "fri"}, StartHour: 9, EndHour: 18}
	restriction.CheckTimeWindow(&fault.InvalidError{}, w)
	require.Equal(t, []string{"mon", "fri"}, w.Days, "normalised: lower case, week order, once each")
}

func TestTimeWindowAllows(t *testing.T) {
	w := restriction.TimeWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, StartHour: 9, EndHour: 18}
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"start hour is inside", monday.Add(9 * time.Hour), true},
		{"a second before", monday.Add(9*time.Hour - time.Second), false},
		{"last minute inside", monday.Add(17*time.Hour + 59*time.Minute), true},
		{"end hour is outside (exclusive)", monday.Add(18 * time.Hour), false},
		{"saturday", monday.AddDate(0, 0, 5).Add(10 * time.Hour), false},
		{"other time zones are read in UTC", monday.Add(10 * time.Hour).In(time.FixedZone("X", -12*3600)), true},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, w.Allows(tt.at), tt.name)
	}
}
