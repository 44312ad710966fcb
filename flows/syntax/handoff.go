package syntax

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// HandoffSettings is the project's `handoff:` section: what a support lead
// decides about the human queue (business hours, CSAT, the customer's
// notices, canned replies). What an operator decides (capacity,
// auto-assignment, sign-in) stays in the server's settings file.
type HandoffSettings struct {
	Path     string
	Pos      Pos
	TimeZone *Str
	Hours    []*Str
	Holidays []*Str
	// HoursSet: the section gives hours, holidays or time_zone, so the
	// project's business hours replace the server's.
	HoursSet bool
	CSAT     bool
	CSATSet  bool
	// CSATAlways: `csat: always`, the rating question after every ticket.
	CSATAlways bool
	// Texts are the notices by key (HandoffTexts), each a text like a
	// node's say: one string or one per language.
	Texts    []*HandoffText
	TextsSet bool
	Canned   []*CannedReply
	// CannedSet: `canned:` is given (an empty list clears the server's).
	CannedSet bool
}

// HandoffText is one notice the project words.
type HandoffText struct {
	Key  Str
	Text *Text
}

// CannedReply is a prepared agent reply offered in the console.
type CannedReply struct {
	Path  string
	Pos   Pos
	ID    *Str
	Title *Str
	Text  *Str
	// Lang, when set, offers the reply only in conversations in it.
	Lang *Str
}

// HandoffNotice names one notice of the human queue and the placeholders
// the queue fills in it.
type HandoffNotice struct {
	Key          string
	Placeholders []string
}

// HandoffNotices is every notice a project may word, in the order
// docs/flows.md lists them; a test keeps the two equal.
var HandoffNotices = []HandoffNotice{
	{"queued", []string{"{position}", "{wait}"}},
	{"queued_no_estimate", []string{"{position}"}},
	{"out_of_hours", []string{"{opens}"}},
	{"no_agent", nil},
	{"assigned", []string{"{agent}"}},
	{"reopened", nil},
	{"resolved", nil},
	{"csat_question", nil},
	{"csat_thanks", nil},
	{"minutes", []string{"{n}"}},
	{"opens_today", []string{"{time}"}},
	{"opens_tomorrow", []string{"{time}"}},
	{"opens_on", []string{"{date}", "{time}"}},
}

// HandoffKeys are the keys of the `handoff:` section, in docs order.
var HandoffKeys = []string{"time_zone", "hours", "holidays", "csat", "texts", "canned"}

// operatorKeys belong to the server's settings file: naming one in the
// project gets that advice instead of a bare "unknown field".
var operatorKeys = map[string]bool{"auto_assign": true, "capacity": true, "reopen_window": true,
	"secure_cookies": true, "sign_in": true, "session_max_age": true, "one_time_password_ttl": true, "demo_agent": true}

// handoffNotice returns the notice named key.
func handoffNotice(key string) (HandoffNotice, bool) {
	for _, n := range HandoffNotices {
		if n.Key == key {
			return n, true
		}
	}
	return HandoffNotice{}, false
}

func noticeKeys() []string {
	ks := make([]string, len(HandoffNotices))
	for i, n := range HandoffNotices {
		ks[i] = n.Key
	}
	return ks
}

func parseHandoffSettings(r *Reporter, v *Value, path string) *HandoffSettings {
	h := &HandoffSettings{Path: path, Pos: v.Pos}
	o := Object(r, v, path, HandoffKeys...)
	for _, f := range o.V.Map {
		if operatorKeys[f.Key.Value] {
			o.Get(f.Key.Value)
			r.Errorf(f.Key.Pos, o.Sub(f.Key.Value), "%q is the operator's: set it under handoff: in the server's settings file (--config), not in the project", f.Key.Value)
		}
	}
	h.TimeZone = o.Str("time_zone")
	h.Hours = StrList(r, o.Get("hours"), o.Sub("hours"))
	h.Holidays = StrList(r, o.Get("holidays"), o.Sub("holidays"))
	h.HoursSet = o.Has("time_zone") || o.Has("hours") || o.Has("holidays")
	for _, s := range h.Hours {
		if col, msg, ok := CheckHoursLine(s.Value); !ok {
			r.Errorf(s.At(0, col), o.Sub("hours"), "%q: %s", s.Value, msg)
		}
	}
	for _, s := range h.Holidays {
		if !isDate(s.Value) {
			r.Errorf(s.Pos, o.Sub("holidays"), "holiday %q: want a date YYYY-MM-DD, such as 2027-01-01", s.Value)
		}
	}
	if v := o.Get("csat"); v != nil && v.Kind == ScalarKind && v.Type != "bool" {
		// csat: always asks after every ticket, whatever the agent picks.
		if v.Scalar.Value == "always" {
			h.CSAT, h.CSATSet, h.CSATAlways = true, true, true
		} else {
			r.Errorf(v.Pos, o.Sub("csat"), "want true, false or always")
		}
	} else {
		h.CSAT, h.CSATSet = o.Bool("csat")
	}
	if tv := o.Get("texts"); tv != nil {
		h.TextsSet = true
		to := Object(r, tv, o.Sub("texts"), noticeKeys()...)
		for _, f := range to.V.Map {
			if _, ok := handoffNotice(f.Key.Value); !ok {
				continue // Done reports it with a suggestion
			}
			to.Get(f.Key.Value)
			t := ParseText(r, f.Val, to.Sub(f.Key.Value))
			checkPlaceholders(r, f.Key.Value, t)
			h.Texts = append(h.Texts, &HandoffText{Key: f.Key, Text: t})
		}
		to.Done()
	}
	if cv := o.Get("canned"); cv != nil {
		h.CannedSet = true
		for i, x := range Seq(r, cv, o.Sub("canned")) {
			h.Canned = append(h.Canned, parseCannedReply(r, x, fmt.Sprintf("%s[%d]", o.Sub("canned"), i)))
		}
	}
	o.Done()
	return h
}

func parseCannedReply(r *Reporter, v *Value, path string) *CannedReply {
	o := Object(r, v, path, "id", "title", "text", "lang")
	c := &CannedReply{Path: path, Pos: v.Pos, ID: o.ReqStr("id"), Title: o.Str("title"), Text: o.ReqStr("text"), Lang: o.Str("lang")}
	o.Done()
	return c
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// checkPlaceholders reports, at its own column, a {name} the queue does not
// fill in this notice: the customer would see it as written.
func checkPlaceholders(r *Reporter, key string, t *Text) {
	n, _ := handoffNotice(key)
	want := "it has no placeholders"
	if len(n.Placeholders) > 0 {
		want = "it may use " + strings.Join(n.Placeholders, ", ")
	}
	one := func(s *Str, path string) {
		if s == nil {
			return
		}
		for li, line := range strings.Split(s.Value, "\n") {
			if i := strings.Index(line, "{{"); i >= 0 {
				r.Errorf(s.At(li, runeCol(line, i)), path, "the queue's notices fill {name} placeholders, not {{ expressions }}; %s", want)
				continue
			}
			for _, m := range placeholderRE.FindAllStringIndex(line, -1) {
				ph := line[m[0]:m[1]]
				if !contains(n.Placeholders, ph) {
					r.Errorf(s.At(li, runeCol(line, m[0])), path, "placeholder %s is not filled in %s: %s", ph, key, want)
				}
			}
		}
	}
	one(t.Any, t.Path)
	for l, s := range t.Langs {
		one(s, join(t.Path, l))
	}
}

// runeCol is the rune column of byte offset i in line.
func runeCol(line string, i int) int { return len([]rune(line[:i])) }

// isDate reports whether s is a date YYYY-MM-DD, read as handoff reads
// holidays (time.DateOnly); year 0 is refused.
func isDate(s string) bool {
	d, err := time.Parse(time.DateOnly, s)
	return err == nil && d.Year() > 0
}
