package flows

import (
	"context"
	"testing"
	"testing/fstest"
)

// Short messages switch the reply language only when their script says it
// (Cyrillic); short English words decide only a first message with nothing
// else to go by.
func TestMessageLangShort(t *testing.T) {
	for text, want := range map[string]string{
		"да":     "ru",
		"ок!":    "ru",
		"hi":     "en",
		"Hey!":   "en",
		"thx":    "en",
		"ok":     "",
		"da":     "",
		"no":     "",
		"3":      "",
		"/start": "",
		"ок ok":  "",
	} {
		if got := messageLang(text, minLangLetters); got != want && !(want == "en" && got == "") {
			t.Errorf("messageLang(%q) = %q, want %q", text, got, want)
		}
		// A first message with nothing else to go by reads short English
		// chat words too.
		if got := messageLang(text, 1); got != want {
			t.Errorf("messageLang(%q, 1) = %q, want %q", text, got, want)
		}
	}
}

// A language the engine had to guess ("/start", digits) is not kept: the
// next message that says more decides, even a short "hi".
func TestGuessedLanguageIsNotKept(t *testing.T) {
	p, err := LoadFS(fstest.MapFS{
		"parley.yaml":     {Data: []byte("name: l\ndefault_lang: ru\nlanguages: [ru, en]\nstart: main\n")},
		"flows/main.yaml": {Data: []byte("flow: main\nstart: hello\nnodes:\n  hello:\n    say: {ru: \"Привет\", en: \"Hello\"}\n    next: listen\n  listen:\n    wait: true\n    next: hello\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(Options{})
	ctx := context.Background()
	st, out, _ := e.Step(ctx, State{}, Input{Text: "/start"})
	said := ""
	for _, o := range out {
		if o.Kind == Say {
			said += o.Text
		}
	}
	if said != "Привет" || st.Lang != "" {
		t.Fatalf("/start: %+v, lang %q; want the default's greeting and no language kept", out, st.Lang)
	}
	st, out, _ = e.Step(ctx, st, Input{Text: "hi"})
	if st.Lang != "en" {
		t.Errorf("after /start, hi: conversation in %q, want en", st.Lang)
	}
	st, _, _ = e.Step(ctx, st, Input{Text: "ok"})
	if st.Lang != "en" {
		t.Errorf("a decided language must stay: %q", st.Lang)
	}
}
