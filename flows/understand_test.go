package flows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows/nlu"
)

// TestDigitsHaveNoSentiment holds the scorer to what the engine assumes
// when it skips it for a message of digits: no feeling, no request for a
// person. If the scorer starts reading something into numbers, this fails
// and onlyDigits must go.
func TestDigitsHaveNoSentiment(t *testing.T) {
	for _, s := range []string{"0", "12", "1234567", "12 34 56", " 7654321 ", "1\n2", "000000000000", "1488", "666", "911", "100500"} {
		if !onlyDigits(s) {
			t.Fatalf("onlyDigits(%q) = false", s)
		}
		checkNoSentiment(t, s)
	}
	for _, s := range []string{"", "   ", "12!", "12((", "１２", "12a", "-1", "12:(", "+7 999"} {
		if onlyDigits(s) {
			t.Errorf("onlyDigits(%q) = true", s)
		}
	}
}

func checkNoSentiment(t *testing.T, s string) {
	t.Helper()
	if got := sharedScorer().Score(s); got.Score != 0 || got.Negative || len(got.Evidence) > 0 {
		t.Errorf("Score(%q) = %+v, want zero", s, got)
	}
	if ok, ev := nlu.RequestsHuman(s); ok || len(ev) > 0 {
		t.Errorf("RequestsHuman(%q) = %v %v", s, ok, ev)
	}
}

// FuzzDigitsHaveNoSentiment: any message onlyDigits accepts is neutral to
// the scorer and asks for nobody.
func FuzzDigitsHaveNoSentiment(f *testing.F) {
	for _, s := range []string{"12", "1234567", "1 2 3", "9\t9", "00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if onlyDigits(s) {
			checkNoSentiment(t, s)
		}
	})
}

// A project whose FAQ answer fails to render: the failure shows (as an
// error event) only when something reads the answer, which tells that
// branches reading faq.id alone do not render it.
const lazyFAQProject = `
-- parley.yaml --
name: lazy
start: main
settings:
  word: abc
-- flows/main.yaml --
flow: main
start: menu
nodes:
  menu:
    wait: true
    branch:
      - if: faq.id == "hours" && payload == ""
        goto: typed
      - if: faq.id == "hours"
        goto: tapped
    else: menu_again
  menu_again:
    say: "?"
    next: menu
  typed:
    say: "часы"
    next: menu
  tapped:
    say: "{{ faq.title }}: {{ faq.answer }}"
    next: menu
-- faq.yaml --
faq:
  - id: hours
    title: "часы"
    questions:
      ru: [часы работы, когда вы работаете, до скольки работаете]
    answer: "с 9 до {{ int(settings.word) }}"
  - id: price
    questions:
      ru: [сколько стоит, какая цена, почем товар]
    answer: "дёшево"
`

func TestFAQAnswerRenderedOnlyWhenRead(t *testing.T) {
	src := Source{}
	for _, part := range strings.Split(lazyFAQProject, "-- ")[1:] {
		name, body, _ := strings.Cut(part, " --\n")
		src[name] = []byte(body)
	}
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(Options{})
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	step := func(st State, text, payload string) (State, []string, []string) {
		t.Helper()
		st, out, err := e.Step(context.Background(), st, Input{Text: text, Payload: payload, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var said, errs []string
		for _, o := range out {
			if o.Kind == Say {
				said = append(said, o.Text)
			}
			if o.Kind == Event && o.Event.Name == "error" {
				errs = append(errs, o.Event.Data["where"])
			}
		}
		return st, said, errs
	}
	st, _, _ := step(State{}, "начало", "")
	st, said, errs := step(st, "часы работы", "")
	if len(errs) > 0 || len(said) != 1 || said[0] != "часы" {
		t.Errorf("typed: said %q, errors %q; want the answer not rendered", said, errs)
	}
	_, said, errs = step(st, "Часы", "hours")
	if len(errs) != 1 || errs[0] != "template" || len(said) != 1 || said[0] != "часы: с 9 до " {
		t.Errorf("tapped: said %q, errors %q; want the answer rendered with its failing hole", said, errs)
	}
}

// FuzzNormalize holds normalize's fast path to the unicode tables.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Привет, МИР!", "/start", "ЁЖИК ёлка", "Hello World 123", "İstanbul ΣΑΣ", "  a\t\tb  ", "ǅ ǈ Ⅻ", "\xff\xfe", "１２３"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normalize(s), normalizeSlow(s); got != want {
			t.Errorf("normalize(%q) = %q, want %q", s, got, want)
		}
	})
}
