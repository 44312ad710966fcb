package handoff

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hours are the business hours of the support team in one time zone. A
// customer who escalates outside them is told when the team is back instead
// of a queue position. The zero Hours (no ranges) means "always open".
type Hours struct {
	loc      *time.Location
	ranges   [7][]span // by time.Weekday of the day the range starts on
	holidays map[string]bool
}

// span is [from, to) in minutes after midnight; to <= from means the range
// runs over midnight into the next day ("22:00-02:00").
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseHours builds Hours from a time zone name ("Europe/Moscow"; "" = UTC),
// lines like "mon-fri 09:00-18:00", "sat,sun 10:00-14:00", "fri 22:00-02:00"
// (over midnight) or "daily 00:00-24:00", and holiday dates ("2026-01-01")
// on which the team does not work at all. Errors name the bad line.
func ParseHours(tz string, lines []string, holidays []string) (Hours, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return Hours{}, fmt.Errorf("business hours: time zone %q: %w", tz, err)
		}
		loc = l
	}
	h := Hours{loc: loc}
	for i, line := range lines {
		days, sp, err := parseHoursLine(line)
		if err != nil {
			return Hours{}, fmt.Errorf("business hours: line %d %q: %w", i+1, line, err)
		}
		for _, d := range days {
			h.ranges[d] = append(h.ranges[d], sp)
		}
	}
	for _, d := range holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return Hours{}, fmt.Errorf("business hours: holiday %q: want YYYY-MM-DD", d)
		}
		if h.holidays == nil {
			h.holidays = map[string]bool{}
		}
		h.holidays[d] = true
	}
	return h, nil
}

func parseHoursLine(line string) ([]time.Weekday, span, error) {
	f := strings.Fields(strings.ToLower(line))
	if len(f) != 2 {
		return nil, span{}, fmt.Errorf(`want "DAYS HH:MM-HH:MM", e.g. "mon-fri 09:00-18:00"`)
	}
	days, err := parseDays(f[0])
	if err != nil {
		return nil, span{}, err
	}
	a, b, ok := strings.Cut(f[1], "-")
	if !ok {
		return nil, span{}, fmt.Errorf("time range %q: want HH:MM-HH:MM", f[1])
	}
	from, err := parseClock(a)
	if err != nil {
		return nil, span{}, err
	}
	to, err := parseClock(b)
	if err != nil {
		return nil, span{}, err
	}
	if from == to {
		return nil, span{}, fmt.Errorf("time range %q is empty", f[1])
	}
	if from == 24*60 {
		return nil, span{}, fmt.Errorf("time range %q cannot start at 24:00", f[1])
	}
	return days, span{from, to}, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	if s == "daily" {
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	}
	var out []time.Weekday
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		da, ok := weekdays[a]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: want mon, tue, wed, thu, fri, sat, sun or daily", a)
		}
		if !isRange {
			out = append(out, da)
			continue
		}
		db, ok := weekdays[b]
		if !ok {
			return nil, fmt.Errorf("unknown day %q: want mon, tue, wed, thu, fri, sat, sun", b)
		}
		// Ranges wrap around the week: "fri-mon" is fri, sat, sun, mon.
		for d := da; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == db {
				break
			}
		}
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return h*60 + m, nil
}

// At says whether the team works at t and, when not, when it is back (in
// the hours' time zone; the zero time when no working time lies ahead).
func (h Hours) At(t time.Time) (open bool, opensAt time.Time) {
	if h.Open(t) {
		return true, time.Time{}
	}
	next, ok := h.NextOpen(t)
	if !ok {
		return false, time.Time{}
	}
	return false, next.In(h.Location())
}

// Always reports whether no ranges are configured (the team is always in).
func (h Hours) Always() bool {
	for _, r := range h.ranges {
		if len(r) > 0 {
			return false
		}
	}
	return true
}

// Location is the time zone the hours are written in.
func (h Hours) Location() *time.Location {
	if h.loc == nil {
		return time.UTC
	}
	return h.loc
}

// Open reports whether t falls within business hours.
func (h Hours) Open(t time.Time) bool {
	if h.Always() {
		return true
	}
	lt := t.In(h.Location())
	if h.holidays[lt.Format(time.DateOnly)] {
		return false
	}
	min := lt.Hour()*60 + lt.Minute()
	for _, sp := range h.ranges[lt.Weekday()] {
		if sp.to > sp.from && min >= sp.from && min < sp.to {
			return true
		}
		if sp.to <= sp.from && min >= sp.from { // first half of an overnight range
			return true
		}
	}
	// The tail of yesterday's overnight range, unless yesterday was a holiday.
	y := lt.AddDate(0, 0, -1)
	if h.holidays[y.Format(time.DateOnly)] {
		return false
	}
	for _, sp := range h.ranges[y.Weekday()] {
		if sp.to <= sp.from && min < sp.to {
			return true
		}
	}
	return false
}

// NextOpen returns the first minute at or after t within business hours, in
// the hours' time zone, and false when none is found within two weeks (no
// ranges on non-holiday days).
func (h Hours) NextOpen(t time.Time) (time.Time, bool) {
	lt := t.In(h.Location()).Truncate(time.Minute)
	if h.Open(lt) {
		return lt, true
	}
	// Candidate openings are range starts; walk the days ahead in order.
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, h.Location())
	for i := 0; i < 15; i++ {
		d := day.AddDate(0, 0, i)
		if h.holidays[d.Format(time.DateOnly)] {
			continue
		}
		best := time.Time{}
		for _, sp := range h.ranges[d.Weekday()] {
			start := time.Date(d.Year(), d.Month(), d.Day(), sp.from/60, sp.from%60, 0, 0, h.Location())
			if start.Before(lt) {
				continue
			}
			if best.IsZero() || start.Before(best) {
				best = start
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}
