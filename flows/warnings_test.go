package flows_test

import (
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
)

// TestMissingTranslationWarns: a per-language text without one of the
// project's languages loads (the default language's text is said) and
// is reported as a warning with its position; a text written once for
// every language is not.
func TestMissingTranslationWarns(t *testing.T) {
	p, err := flows.Compile(flows.Source{
		"parley.yaml": []byte("name: w\nlanguages: [ru, en, de]\nstart: main\n"),
		"flows/main.yaml": []byte(`flow: main
start: hello
nodes:
  hello:
    say: {ru: "Привет", en: "Hello", de: "Hallo"}
    buttons:
      - {text: {ru: Да, en: "Yes"}, value: "yes"}
      - "OK"
    next: ask
  ask:
    ask: {ru: "Как вас зовут?"}
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Warnings.Error()
	want := []string{
		`flows/main.yaml:7:17: nodes.hello.buttons[0].text: no text in "de": customers writing in it get the "ru" text`,
		`flows/main.yaml:11:11: nodes.ask.ask: no text in "de": customers writing in it get the "ru" text`,
		`flows/main.yaml:11:11: nodes.ask.ask: no text in "en": customers writing in it get the "ru" text`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing warning %s\nin:\n%s", w, got)
		}
	}
	if len(p.Warnings) != len(want) {
		t.Errorf("want %d warnings, got %d:\n%s", len(want), len(p.Warnings), got)
	}
}
