package token

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDailyUses(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name   string
		now    time.Time
		days   int
		byDay  map[string]int64
		want   []DayUses
		first  string // the oldest day, when want is not spelled out
		total  int64
		length int
	}{
		{name: "no uses: every day zero", now: at("2026-12-03T10:00:00Z"), days: 3, byDay: nil,
			want: []DayUses{{"2026-12-01", 0}, {"2026-12-02", 0}, {"2026-12-03", 0}}},
		{name: "across a month boundary, oldest first", now: at("2026-12-02T23:59:59Z"), days: 4,
			byDay: map[string]int64{"2026-11-29": 2, "2026-12-01": 5, "2026-12-02": 1},
			want:  []DayUses{{"2026-11-29", 2}, {"2026-11-30", 0}, {"2026-12-01", 5}, {"2026-12-02", 1}}},
		{name: "across a year boundary and February", now: at("2028-03-01T00:00:00Z"), days: 3,
			byDay: map[string]int64{"2028-02-28": 4, "2028-02-29": 7},
			want:  []DayUses{{"2028-02-28", 4}, {"2028-02-29", 7}, {"2028-03-01", 0}}},
		{name: "days outside the window left out", now: at("2026-12-03T08:00:00Z"), days: 2,
			byDay: map[string]int64{"2026-12-01": 9, "2026-12-02": 3, "2026-12-04": 8, "not a day": 1},
			want:  []DayUses{{"2026-12-02", 3}, {"2026-12-03", 0}}},
		{name: "now's UTC day, whatever its zone", now: time.Date(2026, 12, 3, 1, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)), days: 1,
			byDay: map[string]int64{"2026-12-02": 6, "2026-12-03": 1},
			want:  []DayUses{{"2026-12-02", 6}}},
		{name: "thirty days, from January to December", now: at("2027-01-15T12:00:00Z"), days: 30,
			byDay: map[string]int64{"2026-12-16": 1, "2026-12-17": 2, "2027-01-15": 3, "2026-12-15": 100},
			first: "2026-12-17", total: 5, length: 30},
		{name: "no days", now: at("2026-12-03T10:00:00Z"), days: 0, want: []DayUses{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := (&Token{UsesByDay: tt.byDay}).DailyUses(tt.now, tt.days)
			if tt.want != nil {
				require.Equal(t, tt.want, got)
				return
			}
			require.Len(t, got, tt.length)
			require.Equal(t, tt.first, got[0].Day)
			require.Equal(t, tt.now.UTC().Format(DayFormat), got[len(got)-1].Day)
			var total int64
			for _, d := range got {
				total += d.Uses
			}
			require.Equal(t, tt.total, total)
		})
	}
}
