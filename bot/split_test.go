package bot

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		text string
		max  int
		want []string
	}{
		{"fits", "Привет", 10, []string{"Привет"}},
		{"paragraphs", "Первый абзац.\n\nВторой абзац.", 20, []string{"Первый абзац.", "Второй абзац."}},
		{"sentences", "One two three. Four five six. Seven.", 20, []string{"One two three.", "Four five six.", "Seven."}},
		{"words", "alpha beta gamma delta", 11, []string{"alpha beta", "gamma delta"}},
		{"hard cut of a long word", "ёёёёёёёёёё", 4, []string{"ёёёё", "ёёёё", "ёё"}},
		{"no limit", "abc", 0, []string{"abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitText(tt.text, tt.max)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("splitText(%q, %d) mismatch (-want +got):\n%s", tt.text, tt.max, diff)
			}
		})
	}
}

func TestSplitTextKeepsEverythingWithinLimit(t *testing.T) {
	text := strings.Repeat("Доставка по Москве занимает 1–2 дня, по России 3–7 дней! ", 200)
	const max = 4096
	parts := splitText(text, max)
	if len(parts) < 2 {
		t.Fatalf("got %d parts, want several", len(parts))
	}
	var joined []string
	for i, p := range parts {
		if n := utf8.RuneCountInString(p); n > max || n == 0 {
			t.Errorf("part %d has %d runes, want 1..%d", i, n, max)
		}
		joined = append(joined, strings.Fields(p)...)
	}
	if diff := cmp.Diff(strings.Fields(text), joined); diff != "" {
		t.Errorf("words lost or changed by splitting:\n%s", diff)
	}
}

func FuzzSplitText(f *testing.F) {
	f.Add("Привет. Как дела?\n\nХорошо", 7)
	f.Add("a b c d e f", 2)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if max <= 0 || max > 1000 || !utf8.ValidString(text) {
			return
		}
		var words []string
		for _, p := range splitText(text, max) {
			if utf8.RuneCountInString(p) > max {
				t.Fatalf("part over limit %d: %q", max, p)
			}
			words = append(words, strings.Fields(p)...)
		}
		// A hard cut may split a word in two, so compare the letters, not the words.
		if strings.Join(words, "") != strings.Join(strings.Fields(text), "") {
			t.Fatalf("text changed by splitting %q", text)
		}
	})
}
