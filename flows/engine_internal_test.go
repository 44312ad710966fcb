package flows

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestButtonNumber holds buttonNumber to strconv.Atoi on the numbers a
// button can have (1 and up).
func TestButtonNumber(t *testing.T) {
	for _, s := range []string{"", "0", "1", "3", "03", "99", "+1", "+", "-1", "-", "1a", "a", "12", "123", " 1", "١", "+0", "00"} {
		k, err := strconv.Atoi(s)
		want := err == nil && len(s) <= 2 && k >= 1
		got, ok := buttonNumber(s)
		if have := ok && got >= 1; have != want || (want && got != k) {
			t.Errorf("buttonNumber(%q) = %d, %v; Atoi gives %d, %v", s, got, ok, k, err)
		}
	}
}

// TestNormalizeUnchanged checks the no-copy path on its edge cases.
func TestNormalizeUnchanged(t *testing.T) {
	for _, s := range []string{"", " ", "a", "привет", "/start", "12 34", "a  b", " a", "a ", "ёж", "яблоко ананас", "Да", "ok!", "a\tb", "ǅ"} {
		if got, want := normalize(s), normalizeSlow(s); got != want {
			t.Errorf("normalize(%q) = %q, want %q", s, got, want)
		}
	}
}

// A menu with static labels (one language falling back to the default)
// and one whose label has a hole.
const buttonsProject = `
-- parley.yaml --
name: buttons
start: main
default_lang: ru
languages: [ru, en]
-- flows/main.yaml --
flow: main
start: menu
nodes:
  menu:
    say: {ru: "Меню", en: "Menu"}
    buttons:
      - {text: {ru: "Да", en: "Yes"}, value: "yes"}
      - {text: {ru: "Нет"}, value: "no"}
      - {text: "Ok", value: "ok"}
    next: named
  named:
    ask: "?"
    buttons:
      - {text: "{{ contact.name }}!", value: "me"}
      - {text: {ru: "Да", en: "Yes"}, value: "yes"}
    branch:
      - if: payload == "me"
        goto: menu
    else: named
`

// TestButtonLabels: labels copied from the precomputed lists read as the
// ones rendered label by label, in each language, and belong to the turn.
func TestButtonLabels(t *testing.T) {
	src := Source{}
	for _, part := range strings.Split(buttonsProject, "-- ")[1:] {
		name, body, _ := strings.Cut(part, " --\n")
		src[name] = []byte(body)
	}
	p, err := Compile(src)
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(Options{})
	want := map[string][]Button{
		"ru": {{"Да", "yes"}, {"Нет", "no"}, {"Ok", "ok"}, {"Анна!", "me"}, {"Да", "yes"}},
		"en": {{"Yes", "yes"}, {"Нет", "no"}, {"Ok", "ok"}, {"Анна!", "me"}, {"Yes", "yes"}},
		"de": {{"Да", "yes"}, {"Нет", "no"}, {"Ok", "ok"}, {"Анна!", "me"}, {"Да", "yes"}},
	}
	for lang, w := range want {
		for range 2 {
			_, out, err := e.Step(context.Background(), State{Lang: lang}, Input{Text: "x", Contact: Contact{Name: "Анна"}})
			if err != nil {
				t.Fatal(err)
			}
			var got []Button
			for _, o := range out {
				got = append(got, o.Buttons...)
				for i := range o.Buttons {
					o.Buttons[i].Text = "changed" // the caller's to change
				}
			}
			if !slices.Equal(got, w) {
				t.Errorf("%s: buttons %v, want %v", lang, got, w)
			}
		}
	}
}

// TestLabelRuneCount: strings EqualFold matches have the same number of
// runes (what the typed-label check relies on), also for folds that change
// the byte length and for invalid UTF-8.
func TestLabelRuneCount(t *testing.T) {
	for _, p := range [][2]string{{"Kelvin", "\u212Aelvin"}, {"ſtop", "STOP"}, {"Доставка", "дОСТАВКА"}, {"a\xffb", "A\xffB"}, {"ǅ", "ǆ"}, {"ΣΑΣ", "σας"}} {
		if !strings.EqualFold(p[0], p[1]) {
			t.Fatalf("%q and %q: not EqualFold", p[0], p[1])
		}
		if a, b := utf8.RuneCountInString(p[0]), utf8.RuneCountInString(p[1]); a != b {
			t.Errorf("%q has %d runes, %q has %d", p[0], a, p[1], b)
		}
	}
}
