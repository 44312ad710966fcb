package handoff

import "time"

// OpenBetween is the time within business hours in [from, to): the lead
// dashboard's first response and queue wait "in business hours" (it
// implements analytics.BusinessHours). The zero Hours is always open.
// It walks the days of the interval, so a span of weeks costs weeks of
// days, not minutes.
func (h Hours) OpenBetween(from, to time.Time) time.Duration {
	if !from.Before(to) {
		return 0
	}
	if h.Always() {
		return to.Sub(from)
	}
	loc := h.Location()
	lf := from.In(loc)
	// Start a day early: yesterday's overnight range runs into today.
	day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -1)
	var open time.Duration
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		if h.holidays[day.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range h.ranges[day.Weekday()] {
			end := sp.to
			if sp.to <= sp.from {
				end = sp.to + 24*60 // over midnight
			}
			// time.Date normalises the minutes, so a DST change keeps the
			// wall clock of the range.
			a := time.Date(day.Year(), day.Month(), day.Day(), 0, sp.from, 0, 0, loc)
			b := time.Date(day.Year(), day.Month(), day.Day(), 0, end, 0, 0, loc)
			open += overlap(a, b, from, to)
		}
	}
	return open
}

func overlap(a, b, from, to time.Time) time.Duration {
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	if !a.Before(b) {
		return 0
	}
	return b.Sub(a)
}
