package syntax

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// CheckHoursLine checks one business-hours line ("mon-fri 09:00-18:00",
// "sat,sun 10:00-14:00", "fri 22:00-02:00" over midnight, "daily
// 00:00-24:00") as the handoff package reads it. flows may not import
// handoff (the one-way rule), so the syntax is checked here, by a parser
// of its own, to put the error at the bad word's column at load; cmd's
// tests keep the two parsers agreeing line for line. col is the 0-based
// rune column of the problem.
func CheckHoursLine(line string) (col int, msg string, ok bool) {
	low := strings.ToLower(line)
	words := fieldsAt(low)
	if len(words) != 2 {
		return 0, `want "DAYS HH:MM-HH:MM", such as "mon-fri 09:00-18:00"`, false
	}
	if at, msg := checkDays(words[0].s); msg != "" {
		return runeCol(low, words[0].at+at), msg, false
	}
	w := words[1]
	a, b, found := strings.Cut(w.s, "-")
	if !found {
		return runeCol(low, w.at), fmt.Sprintf("time range %q: want HH:MM-HH:MM", w.s), false
	}
	from, ok1 := clock(a)
	if !ok1 {
		return runeCol(low, w.at), fmt.Sprintf("time %q: want HH:MM between 00:00 and 24:00", a), false
	}
	to, ok2 := clock(b)
	if !ok2 {
		return runeCol(low, w.at+len(a)+1), fmt.Sprintf("time %q: want HH:MM between 00:00 and 24:00", b), false
	}
	if from == to {
		return runeCol(low, w.at), fmt.Sprintf("time range %q is empty", w.s), false
	}
	if from == 24*60 {
		return runeCol(low, w.at), fmt.Sprintf("time range %q cannot start at 24:00", w.s), false
	}
	return 0, "", true
}

type word struct {
	s  string
	at int // byte offset
}

func fieldsAt(s string) []word {
	var out []word
	start := -1
	for i, c := range s {
		space := unicode.IsSpace(c) // as strings.Fields
		switch {
		case !space && start < 0:
			start = i
		case space && start >= 0:
			out = append(out, word{s[start:i], start})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, word{s[start:], start})
	}
	return out
}

var dayNames = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// checkDays checks "daily", "mon", "mon-fri", "sat,sun" or "fri-mon"
// (ranges wrap around the week); at is the byte offset of a bad day.
func checkDays(s string) (at int, msg string) {
	if s == "daily" {
		return 0, ""
	}
	off := 0
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, "-")
		if !contains(dayNames, a) {
			return off, fmt.Sprintf("unknown day %q: want mon, tue, wed, thu, fri, sat, sun or daily", a)
		}
		if isRange && !contains(dayNames, b) {
			return off + len(a) + 1, fmt.Sprintf("unknown day %q: want mon, tue, wed, thu, fri, sat, sun", b)
		}
		off += len(part) + 1
	}
	return 0, ""
}

// clock reads HH:MM as minutes after midnight, 00:00 to 24:00.
func clock(s string) (int, bool) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}
