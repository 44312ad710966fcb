package flows_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
)

const handoffFlow = "flow: main\nstart: hello\nnodes:\n  hello:\n    say: Hello\n"

func compileHandoff(t *testing.T, project string) (*flows.Project, error) {
	t.Helper()
	return flows.Compile(flows.Source{"parley.yaml": []byte(project), "flows/main.yaml": []byte(handoffFlow)})
}

// TestHandoffSettingsLoad: the lead's handoff: section comes out of the
// project as written: hours in the project's time zone when the section
// names none, texts by language then key (one string for every
// language), CSAT, canned replies.
func TestHandoffSettingsLoad(t *testing.T) {
	p, err := compileHandoff(t, `name: h
languages: [ru, en]
start: main
timezone: Asia/Yekaterinburg
handoff:
  hours: ["mon-fri 09:00-18:00", "sat 10:00-14:00"]
  holidays: ["2027-01-01"]
  csat: false
  texts:
    out_of_hours: {ru: "Вернёмся {opens}.", en: "Back {opens}."}
    assigned: "{agent} 👋"
  canned:
    - {id: refund, title: Возврат, text: "Деньги придут за 3–10 дней.", lang: ru}
`)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.Handoff()
	if !ok {
		t.Fatal("no handoff settings")
	}
	no := false
	want := flows.HandoffSettings{
		HoursSet: true, TimeZone: "Asia/Yekaterinburg",
		Hours: []string{"mon-fri 09:00-18:00", "sat 10:00-14:00"}, Holidays: []string{"2027-01-01"},
		CSAT: &no,
		Texts: map[string]map[string]string{
			"ru": {"out_of_hours": "Вернёмся {opens}.", "assigned": "{agent} 👋"},
			"en": {"out_of_hours": "Back {opens}.", "assigned": "{agent} 👋"},
		},
		Canned:    []flows.CannedReply{{ID: "refund", Title: "Возврат", Text: "Деньги придут за 3–10 дней.", Lang: "ru"}},
		CannedSet: true,
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got  %+v\nwant %+v", h, want)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("unexpected warnings:\n%v", p.Warnings)
	}
	if p2, _ := compileHandoff(t, "name: h\nstart: main\n"); p2 != nil {
		if _, ok := p2.Handoff(); ok {
			t.Error("a project without handoff: reports settings")
		}
	}
}

// TestHandoffSettingsErrors: each mistake a lead can make in the section
// is one error at its own file:line:col.
func TestHandoffSettingsErrors(t *testing.T) {
	_, err := compileHandoff(t, `name: h
languages: [ru, en]
start: main
handoff:
  time_zone: Europe/Mosow
  hours: ["mon-fri 09:00-18:00", "mon-fir 09:00-18:00", "sat 10:00-25:00", "sun"]
  holidays: ["2027-02-30"]
  csat: yes please
  capacity: 3
  txets: {}
  texts:
    queud: "x"
    queued: "You are {position}, wait {wait}, back {opens}"
    out_of_hours: {ru: "Вернёмся {{ opens }}", de: "Zurück {opens}"}
    no_agent: ""
  canned:
    - {id: refund, text: "a"}
    - {id: refund, text: "b", lang: de}
    - {title: x}
`)
	var list flows.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	want := []string{
		`parley.yaml:5:14: handoff.time_zone: unknown time zone "Europe/Mosow": want an IANA name such as Europe/Moscow`,
		`parley.yaml:6:39: handoff.hours: "mon-fir 09:00-18:00": unknown day "fir": want mon, tue, wed, thu, fri, sat, sun`,
		`parley.yaml:6:68: handoff.hours: "sat 10:00-25:00": time "25:00": want HH:MM between 00:00 and 24:00`,
		`parley.yaml:6:77: handoff.hours: "sun": want "DAYS HH:MM-HH:MM", such as "mon-fri 09:00-18:00"`,
		`parley.yaml:7:14: handoff.holidays: holiday "2027-02-30": want a date YYYY-MM-DD, such as 2027-01-01`,
		`parley.yaml:8:9: handoff.csat: want true, false or always`,
		`parley.yaml:9:3: handoff.capacity: "capacity" is the operator's: set it under handoff: in the server's settings file (--config), not in the project`,
		`parley.yaml:10:3: handoff.txets: unknown field "txets"; did you mean "texts"?`,
		`parley.yaml:12:5: handoff.texts.queud: unknown field "queud"; did you mean "queued"?`,
		`parley.yaml:13:52: handoff.texts.queued: placeholder {opens} is not filled in queued: it may use {position}, {wait}`,
		`parley.yaml:14:34: handoff.texts.out_of_hours.ru: the queue's notices fill {name} placeholders, not {{ expressions }}; it may use {opens}`,
		`parley.yaml:14:52: handoff.texts.out_of_hours.de: language "de" is not in the project's languages [ru, en]`,
		`parley.yaml:15:15: handoff.texts.no_agent: empty text`,
		`parley.yaml:18:12: handoff.canned[1].id: duplicate canned reply "refund"`,
		`parley.yaml:18:37: handoff.canned[1].lang: language "de" is not in the project's languages [ru, en]`,
		`parley.yaml:19:8: handoff.canned[2]: missing "id"`,
		`parley.yaml:19:8: handoff.canned[2]: missing "text"`,
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Header())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHandoffMissingTranslationWarns: a notice without one of the
// project's languages loads and is warned about like any text; hours
// without any time zone are warned about too.
func TestHandoffMissingTranslationWarns(t *testing.T) {
	p, err := compileHandoff(t, `name: h
languages: [ru, en]
start: main
handoff:
  hours: ["daily 09:00-21:00"]
  texts:
    no_agent: {ru: "Все заняты."}
`)
	if err != nil {
		t.Fatal(err)
	}
	want := `parley.yaml:5:11: handoff.hours: business hours without a time zone are read in UTC: set handoff.time_zone or the project's timezone
    | ` + `  hours: ["daily 09:00-21:00"]` + `
    |           ^
parley.yaml:7:16: handoff.texts.no_agent: no text in "en": customers writing in it get Parley's built-in notice
    | ` + `    no_agent: {ru: "Все заняты."}` + `
    |                ^`
	if got := p.Warnings.Error(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestHandoffCSATAlways: `csat: always` asks for a rating after every
// ticket: CSAT is on and CSATAlways says so.
func TestHandoffCSATAlways(t *testing.T) {
	p, err := compileHandoff(t, "name: h\nstart: main\nhandoff:\n  csat: always\n")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := p.Handoff()
	if h.CSAT == nil || !*h.CSAT || !h.CSATAlways {
		t.Errorf("csat: always gave CSAT %v, CSATAlways %v", h.CSAT, h.CSATAlways)
	}
}
