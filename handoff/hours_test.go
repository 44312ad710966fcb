package handoff

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHoursOpen(t *testing.T) {
	h, err := ParseHours("Europe/Moscow", []string{"mon-fri 09:00-18:00", "sat 10:00-14:00", "fri 22:00-02:00"},
		[]string{"2026-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	msk := time.FixedZone("MSK", 3*3600)
	cases := []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 11, 23, 9, 0, 0, 0, msk), true},                           // Monday opening minute
		{time.Date(2026, 11, 23, 8, 59, 0, 0, msk), false},                         // a minute early
		{time.Date(2026, 11, 23, 17, 59, 0, 0, msk), true},                         // last minute
		{time.Date(2026, 11, 23, 18, 0, 0, 0, msk), false},                         // closing is exclusive
		{time.Date(2026, 11, 23, 6, 30, 0, 0, time.UTC), true},                     // 09:30 Moscow given in UTC
		{time.Date(2026, 11, 23, 5, 30, 0, 0, time.UTC), false},                    // 08:30 Moscow given in UTC
		{time.Date(2026, 11, 27, 23, 30, 0, 0, msk), true},                         // Friday night shift
		{time.Date(2026, 11, 28, 1, 30, 0, 0, msk), true},                          // ...spilling into Saturday
		{time.Date(2026, 11, 28, 2, 0, 0, 0, msk), false},                          // ...until 02:00
		{time.Date(2026, 11, 28, 12, 0, 0, 0, msk), true},                          // Saturday hours
		{time.Date(2026, 11, 29, 12, 0, 0, 0, msk), false},                         // Sunday closed
		{time.Date(2026, 11, 24, 1, 0, 0, 0, msk), false},                          // Monday night is no overnight day
		{time.Date(2026, 12, 31, 12, 0, 0, 0, msk), false},                         // holiday (Thursday)
		{time.Date(2026, 12, 30, 12, 0, 0, 0, msk), true},                          // the day before
		{time.Date(2027, 1, 1, 12, 0, 0, 0, msk), true},                            // and after
		{time.Date(2026, 11, 23, 21, 0, 0, 0, time.FixedZone("", -3*3600)), false}, // Monday 21:00 in UTC-3 is Tuesday 03:00 in Moscow
	}
	for _, c := range cases {
		if got := h.Open(c.at); got != c.open {
			t.Errorf("Open(%s) = %v, want %v", c.at.Format(time.RFC3339), got, c.open)
		}
	}
	if (Hours{}).Open(time.Now()) != true {
		t.Error("zero Hours must be always open")
	}
}

func TestHoursHolidayStopsOvernightTail(t *testing.T) {
	h, err := ParseHours("", []string{"daily 20:00-04:00"}, []string{"2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Open(time.Date(2026, 11, 23, 21, 0, 0, 0, time.UTC)) {
		t.Error("open on the holiday evening")
	}
	if h.Open(time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)) {
		t.Error("open in the tail of the holiday's night shift")
	}
	if !h.Open(time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)) {
		t.Error("closed on the evening before the holiday")
	}
}

func TestHoursNextOpen(t *testing.T) {
	h, err := ParseHours("Asia/Novosibirsk", []string{"mon-fri 09:00-18:00"}, []string{"2026-11-30"})
	if err != nil {
		t.Fatal(err)
	}
	nsk, _ := time.LoadLocation("Asia/Novosibirsk")
	cases := []struct{ at, want time.Time }{
		{time.Date(2026, 11, 23, 7, 0, 0, 0, nsk), time.Date(2026, 11, 23, 9, 0, 0, 0, nsk)},     // later today
		{time.Date(2026, 11, 23, 19, 0, 0, 0, nsk), time.Date(2026, 11, 24, 9, 0, 0, 0, nsk)},    // tomorrow
		{time.Date(2026, 11, 27, 19, 0, 0, 0, nsk), time.Date(2026, 12, 1, 9, 0, 0, 0, nsk)},     // Friday evening, Monday is a holiday
		{time.Date(2026, 11, 24, 10, 15, 0, 0, nsk), time.Date(2026, 11, 24, 10, 15, 0, 0, nsk)}, // open now
	}
	for _, c := range cases {
		got, ok := h.NextOpen(c.at)
		if !ok || !got.Equal(c.want) {
			t.Errorf("NextOpen(%s) = %s %v, want %s", c.at, got, ok, c.want)
		}
	}
}

func TestParseHoursErrors(t *testing.T) {
	cases := []struct {
		tz    string
		lines []string
		hols  []string
		want  string
	}{
		{"Mars/Olympus", nil, nil, `time zone "Mars/Olympus"`},
		{"", []string{"weekdays 09:00-18:00"}, nil, `line 1 "weekdays 09:00-18:00": unknown day "weekdays"`},
		{"", []string{"mon-fri 9-18"}, nil, `time "9"`},
		{"", []string{"mon 09:00-25:00"}, nil, `time "25:00"`},
		{"", []string{"mon 09:00-09:00"}, nil, "is empty"},
		{"", []string{"mon 09:00"}, nil, "want HH:MM-HH:MM"},
		{"", []string{"mon-fri 09:00-18:00", "sun"}, nil, `line 2 "sun"`},
		{"", nil, []string{"31.12.2026"}, `holiday "31.12.2026"`},
	}
	for _, c := range cases {
		_, err := ParseHours(c.tz, c.lines, c.hols)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseHours(%q, %q, %q) = %v, want an error with %q", c.tz, c.lines, c.hols, err, c.want)
		}
	}
}

func TestQueueNotices(t *testing.T) {
	hours, err := ParseHours("Europe/Moscow", []string{"mon-fri 09:00-18:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{Hours: hours})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)

	// Monday 10:00 UTC is 13:00 in Moscow: open, but nobody online.
	ru := e.contact("telegram:1", "", "ru")
	_, n := e.escalate(ru, "requested", "")
	if n[0].Text != DefaultTexts["ru"].NoAgent {
		t.Errorf("nobody online: %q", n[0].Text)
	}

	// Anna online; no waits measured yet: position only.
	e.online(anna)
	en := e.contact("web:1", "", "en-GB")
	_, n = e.escalate(en, "requested", "")
	if !strings.Contains(n[0].Text, "number 2 in the queue.") || strings.Contains(n[0].Text, "wait") {
		t.Errorf("without estimate: %q", n[0].Text)
	}
	// An urgent ticket goes before both normal ones.
	urgent := e.contact("vk:5", "", "en")
	_, n = e.escalate(urgent, "negative", "urgent")
	if !strings.Contains(n[0].Text, "number 1 in the queue") {
		t.Errorf("urgent: %q", n[0].Text)
	}
	// Anna took 6 minutes to claim the first: the estimate uses it.
	e.clock.Advance(6 * time.Minute)
	e.online(anna)
	first, _, _ := e.db.OpenTicketFor(ru.ID)
	if _, err := e.svc.Claim(ctx, anna, first.ID); err != nil {
		t.Fatal(err)
	}
	late := e.contact("web:2", "", "ru")
	_, n = e.escalate(late, "requested", "")
	want := "Вы 3-й в очереди, ожидание около 18 мин."
	if !strings.Contains(n[0].Text, want) {
		t.Errorf("with estimate: %q, want it to contain %q", n[0].Text, want)
	}

	// Monday 16:00 UTC is 19:00 Moscow: closed until tomorrow 09:00.
	e.clock.Advance(6 * time.Hour)
	e.online(anna)
	night := e.contact("web:3", "", "en")
	_, n = e.escalate(night, "requested", "")
	if want := "will be back tomorrow at 09:00."; !strings.Contains(n[0].Text, want) {
		t.Errorf("out of hours: %q, want %q", n[0].Text, want)
	}
	// Friday 19:00 Moscow: back on Monday.
	e.clock.Advance(4 * 24 * time.Hour)
	fri := e.contact("web:4", "", "ru")
	_, n = e.escalate(fri, "requested", "")
	if want := "мы вернёмся 30.11 в 09:00."; !strings.Contains(n[0].Text, want) {
		t.Errorf("weekend: %q, want %q", n[0].Text, want)
	}
}

func TestCustomTexts(t *testing.T) {
	e := newEnv(t, Config{Texts: map[string]Texts{"en": {NoAgent: "Nobody home."}}, DefaultLang: "ru"})
	c := e.contact("web:x", "", "de")
	_, n := e.escalate(c, "requested", "")
	if n[0].Text != DefaultTexts["ru"].NoAgent {
		t.Errorf("unknown language falls back to the default: %q", n[0].Text)
	}
	c2 := e.contact("web:y", "", "en")
	_, n = e.escalate(c2, "requested", "")
	if n[0].Text != "Nobody home." {
		t.Errorf("custom text: %q", n[0].Text)
	}
	if got := e.svc.texts("en").Queued; got != DefaultTexts["en"].Queued {
		t.Errorf("empty custom fields keep the built-in text, got %q", got)
	}
	if _, err := New(e.db, Config{DefaultLang: "de"}, nil, e.svc.log); err == nil {
		t.Error("a default language without texts must be refused")
	}
}
