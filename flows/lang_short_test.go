package flows

import "testing"

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
