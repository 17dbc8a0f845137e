package token

import "time"

// DayFormat is how a UTC day is written: the keys of Token.UsesByDay, DayUses.Day.
const DayFormat = "2006-01-02"

// DayUses is the number of uses of a token on one UTC day.
type DayUses struct {
	Day  string // DayFormat
	Uses int64
}

// DailyUses is the token's uses on each of the last days UTC days, oldest first, the
// last one being now's day; a day with no uses recorded is zero. Days outside that
// window are left out, whatever UsesByDay holds.
func (t *Token) DailyUses(now time.Time, days int) []DayUses {
	if days <= 0 {
		return []DayUses{}
	}
	y, m, d := now.UTC().Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	out := make([]DayUses, days)
	for i := range out {
		day := today.AddDate(0, 0, i-(days-1)).Format(DayFormat)
		out[i] = DayUses{Day: day, Uses: t.UsesByDay[day]}
	}
	return out
}
