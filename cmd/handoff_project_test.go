package cmd

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/syntax"
	"github.com/parley-chat/parley/handoff"
)

func handoffProject(t *testing.T, section string) *flows.Project {
	t.Helper()
	p, err := flows.Compile(flows.Source{
		"parley.yaml":     []byte("name: h\nlanguages: [ru, en]\nstart: main\n" + section),
		"flows/main.yaml": []byte("flow: main\nstart: hello\nnodes:\n  hello:\n    say: Hello\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProjectHandoffWins: the project's handoff: section sets the lead's
// part of the queue; the same keys in the server's file are ignored with a
// note each, the operator's keys still come from the server's file.
func TestProjectHandoffWins(t *testing.T) {
	p := handoffProject(t, `handoff:
  time_zone: Asia/Tokyo
  hours: ["mon-fri 09:00-18:00"]
  csat: false
  texts:
    out_of_hours: {ru: "Вернёмся {opens}.", en: "Back {opens}."}
  canned:
    - {id: hello, text: "Hi!"}
`)
	yes := true
	server := HandoffConfig{TimeZone: "Europe/Moscow", Hours: []string{"daily 00:00-24:00"}, CSAT: &yes,
		Texts:  map[string]NoticeTexts{"ru": {NoAgent: "из файла сервера"}},
		Canned: []CannedReply{{ID: "old", Text: "old"}}, Capacity: 3, AutoAssign: true}
	hc, notes, err := projectHandoffConfig(server, p)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Hours.Location().String() != "Asia/Tokyo" || hc.CSAT || hc.Capacity != 3 || !hc.AutoAssign {
		t.Errorf("zone %s, csat %v, capacity %d, auto-assign %v", hc.Hours.Location(), hc.CSAT, hc.Capacity, hc.AutoAssign)
	}
	// Saturday noon in Tokyo: closed by the project's hours, open by the server's.
	if hc.Hours.Open(time.Date(2027, 3, 6, 12, 0, 0, 0, hc.Hours.Location())) {
		t.Error("the server file's hours are in effect")
	}
	if hc.Texts["ru"].OutOfHours != "Вернёмся {opens}." || hc.Texts["en"].OutOfHours != "Back {opens}." || hc.Texts["ru"].NoAgent != "" {
		t.Errorf("texts %+v", hc.Texts)
	}
	if len(hc.Canned) != 1 || hc.Canned[0].ID != "hello" {
		t.Errorf("canned %+v", hc.Canned)
	}
	if len(notes) != 4 {
		t.Fatalf("want a note for each of hours, csat, texts, canned, got %q", notes)
	}
	for _, n := range notes {
		if !strings.Contains(n, "is ignored: the project's parley.yaml sets it") {
			t.Errorf("note %q", n)
		}
	}
}

// TestServerHandoffDeprecated: without a handoff: section in the project
// the server file's lead keys still work, with a deprecation note each,
// and its hours without a time zone are in Moscow time as before.
func TestServerHandoffDeprecated(t *testing.T) {
	p := handoffProject(t, "")
	cfg := defaultConfig()
	cfg.Handoff.Hours = []string{"mon-fri 09:00-18:00"}
	cfg.Handoff.Texts = map[string]NoticeTexts{"ru": {NoAgent: "Все заняты."}}
	hc, notes, err := projectHandoffConfig(cfg.Handoff, p)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Hours.Location().String() != "Europe/Moscow" || hc.Texts["ru"].NoAgent != "Все заняты." {
		t.Errorf("zone %s, texts %+v", hc.Hours.Location(), hc.Texts["ru"])
	}
	want := []string{
		"handoff time_zone, hours and holidays in the server's settings file is deprecated: move it to the project's parley.yaml, under handoff: (docs/flows.md); the next release ignores it",
		"handoff texts in the server's settings file is deprecated: move it to the project's parley.yaml, under handoff: (docs/flows.md); the next release ignores it",
	}
	if strings.Join(notes, "\n") != strings.Join(want, "\n") {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	if _, notes, _ := projectHandoffConfig(defaultConfig().Handoff, p); len(notes) != 0 {
		t.Errorf("the defaults give notes: %q", notes)
	}
}

// TestEveryNoticeReachesTheQueue: each notice key a project may word
// lands in its own field of handoff.Texts (and its placeholders lint
// clean), so a key added to flows.HandoffNotices cannot be dropped here.
func TestEveryNoticeReachesTheQueue(t *testing.T) {
	var b strings.Builder
	b.WriteString("handoff:\n  texts:\n")
	for _, n := range flows.HandoffNotices {
		fmt.Fprintf(&b, "    %s: %q\n", n.Key, noticeSample(n))
	}
	hc, _, err := projectHandoffConfig(defaultConfig().Handoff, handoffProject(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range flows.HandoffNotices {
		tx := hc.Texts["en"]
		f := noticeField(&tx, n.Key)
		if f == nil {
			t.Errorf("notice %q has no field in handoff.Texts", n.Key)
			continue
		}
		if *f != noticeSample(n) {
			t.Errorf("notice %q: field holds %q", n.Key, *f)
		}
		if seen[*f] {
			t.Errorf("notice %q shares a field", n.Key)
		}
		seen[*f] = true
	}
}

// noticeSample is a text for notice n that uses all its placeholders.
func noticeSample(n flows.HandoffNotice) string {
	return strings.Join(append([]string{n.Key}, n.Placeholders...), " ")
}

// TestHoursParsersAgree: flows checks business-hours lines with a parser
// of its own (flows may not import handoff); it must accept exactly the
// lines handoff.ParseHours accepts, or lint passes a project serve refuses.
func TestHoursParsersAgree(t *testing.T) {
	lines := []string{"mon-fri 09:00-18:00", "sat,sun 10:00-14:00", "fri 22:00-02:00", "daily 00:00-24:00",
		"MON-FRI 09:00-18:00", "fri-mon 10:00-11:00", "mon-fir 09:00-18:00", "sun", "mon 9:00-18:00",
		"mon 09:00-18:0", "mon 24:00-01:00", "mon 10:00-10:00", "mon 09:00", "mon  09:00-18:00 ",
		"mon,,tue 09:00-10:00", "mon- 09:00-10:00", "daily,mon 09:00-10:00", "mon 24:30-01:00", "mon 00:00-24:00",
		"mon 09:60-10:00", "mon -1:00-10:00", "mon 09:00-18:00 extra", "", "mon\u00a009:00-18:00", "mon +9:00-18:00"}
	words := []string{"mon", "tue", "sun", "daily", "fri-mon", "sat,sun", "mon-", "xx", "Mon", "-", ","}
	clocks := []string{"00:00", "09:00", "24:00", "23:59", "9:00", "09:5", "25:00", "12:60", "+1:00", "", "-"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for range 3000 {
		lines = append(lines, pick(words)+" "+pick(clocks)+"-"+pick(clocks))
		lines = append(lines, pick(words)+","+pick(words)+" "+pick(clocks)+pick([]string{"-", ""})+pick(clocks))
	}
	for _, line := range lines {
		_, msg, ok := syntax.CheckHoursLine(line)
		_, err := handoff.ParseHours("", []string{line}, nil)
		if ok != (err == nil) {
			t.Errorf("%q: flows says ok=%v (%s), handoff says %v", line, ok, msg, err)
		}
	}
}

// TestServeUsesProjectHandoff: `parley serve` of a project whose
// parley.yaml words the queue's no_agent notice sends that text on a
// handoff (the server file's, given too, is ignored with a log line), and
// an edit of the section applies with the flows' reload, without a
// restart.
func TestServeUsesProjectHandoff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	var out strings.Builder
	if code := Run([]string{"init", dir}, IO{Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("init: %s", out.String())
	}
	file := filepath.Join(dir, flows.ProjectFile)
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	const section = "handoff:\n  csat: true\n"
	if !strings.Contains(string(src), section) {
		t.Fatal("the demo's handoff: section changed; update the test")
	}
	worded := strings.Replace(string(src), section, section+"  texts:\n    no_agent: {ru: \"Все заняты — ответим здесь.\", en: \"All busy, we will answer here.\"}\n", 1)
	if err := os.WriteFile(file, []byte(worded), 0o644); err != nil {
		t.Fatal(err)
	}
	s, logs := startServer(t, func(c *Config) {
		c.Flows = dir
		c.Handoff.Texts = map[string]NoticeTexts{"ru": {NoAgent: "из файла сервера"}}
	})
	if !strings.Contains(logs.String(), "handoff texts in the server's settings file is ignored: the project's parley.yaml sets it") {
		t.Errorf("no note that the server file's texts are ignored:\n%s", logs.String())
	}
	v := newVisitor(t, s.addr)
	v.say(t, "позовите оператора")
	v.waitFor(t, 0, "Все заняты — ответим здесь.")

	if err := os.WriteFile(file, []byte(strings.Replace(worded, "ответим здесь", "ответим скоро", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the reload", func() bool { return strings.Contains(logs.String(), "flows reloaded") })
	waitUntil(t, "the settings applied", func() bool {
		return strings.Contains(logs.String(), "the project's handoff settings applied")
	})
	next := newVisitor(t, s.addr)
	next.say(t, "позовите оператора")
	next.waitFor(t, 0, "Все заняты — ответим скоро.")
}
