package nlu

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Ёлки-Палки!!", "елки палки"},
		{"  Don't   STOP  ", "dont stop"},
		{"Привет,мир.Как дела?", "привет мир как дела"},
		{"Заказ №12345 — где он?!", "заказ 12345 где он"},
		{"ВЕРНИТЕ ДЕНЬГИ!!!", "верните деньги"},
		{"e-mail: a@b.ru", "e mail a b ru"},
		{"мёд и МЁД", "мед и мед"},
		{"", ""},
		{"?!…", ""},
		{"'quoted'", "quoted"},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStemRussianAndEnglishForms(t *testing.T) {
	for _, group := range [][]string{
		{"ужасно", "ужасный", "ужасная", "ужасные", "ужаснейший"},
		{"доставка", "доставки", "доставку", "доставкой"},
		{"возврат", "возврата", "возвратом"},
		{"оплата", "оплаты", "оплату"},
		{"refund", "refunds", "refunded", "refunding"},
		{"deliver", "delivering", "delivered"},
	} {
		want := Stem(group[0])
		for _, w := range group[1:] {
			if got := Stem(w); got != want {
				t.Errorf("Stem(%q) = %q, want %q (as for %q)", w, got, want, group[0])
			}
		}
	}
	if got := Stem("12345"); got != "12345" {
		t.Errorf("numbers are not stemmed: got %q", got)
	}
}

func TestDetectLanguage(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Где мой заказ?", "ru"},
		{"Where is my order?", "en"},
		{"Где мой order", "ru"},
		{"ab аб", ""}, // evenly mixed
		// Russian typed in Latin letters
		{"skolko stoit dostavka", "ru"},
		{"gde moi zakaz", "ru"},
		{"privet", "ru"},
		{"Spasibo!", "ru"},
		{"zakaz 5550123 ne prishel", "ru"},
		{"hochu vernut den'gi", "ru"},
		// English that must stay English
		{"hello", "en"},
		{"thanks a lot", "en"},
		{"I ordered a pizza", "en"},
		{"can you deliver in the evening", "en"},
		// too short or ambiguous to tell
		{"12345 !!!", ""},
		{"", ""},
		{"ok", ""},
		{"OK!", ""},
		{"ок", ""},
		{"👍", ""},
		{"😡😡😡", ""},
		{"да", ""},
		// the majority wins in mixed text
		{"Привет, where is my order?", "en"},
		{"Здравствуйте, у меня проблема с order", "ru"},
		{"hi, gde moi zakaz?", "ru"},
	} {
		if got := DetectLanguage(tc.in); got != tc.want {
			t.Errorf("DetectLanguage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTransliterate(t *testing.T) {
	for in, want := range map[string]string{
		"dostavka": "доставка", "privet": "привет", "zhdu": "жду", "khorosho": "хорошо",
		"chto": "что", "shchas": "щас", "schet": "щет", "tsena": "цена", "cena": "цена",
		"ya": "я", "yuliya": "юлия", "moy": "мой", "novyy": "новый", "kartoy": "картой",
		"rossia": "россия", "x": "кс", "order1": "", "заказ": "",
	} {
		if got := Transliterate(in); got != want {
			t.Errorf("Transliterate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTyposRepairToTrainingWords(t *testing.T) {
	f := newFeaturizer(nil)
	f.learn(tokens("доставка оплата возврат delivery payment"))
	for in, want := range map[string]string{
		"доствка":  "доставка", // missing letter
		"оплатта":  "оплата",   // extra letter
		"возрват":  "возврат",  // swapped letters
		"delivary": "delivery", // substitution
		"кот":      "кот",      // too short to repair
		"погода":   "погода",   // nothing near
	} {
		if got, _ := f.repair(in, nil); got != want {
			t.Errorf("repair(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSynonymsReplaceVariants(t *testing.T) {
	f := newFeaturizer(map[string][]string{"возврат": {"вернуть деньги", "refund"}})
	got := f.tokens("Как ВЕРНУТЬ деньги или refund?")
	want := []string{"как", "возврат", "или", "возврат"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens with synonyms (-want +got):\n%s", diff)
	}
}

func TestLongTextIsClipped(t *testing.T) {
	long := strings.Repeat("ё", MaxTextBytes) // two bytes each: the cut falls inside none
	if got := clipText(long); len(got) != MaxTextBytes || !utf8.ValidString(got) {
		t.Errorf("clipText: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	odd := "a" + long
	if got := clipText(odd); len(got) != MaxTextBytes-1 || !utf8.ValidString(got) {
		t.Errorf("clipText on an odd boundary: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	// A huge unknown "word" costs no more than its clipped part.
	f := newFeaturizer(nil)
	f.learn(tokens("доставка оплата"))
	if got, _ := f.repair(strings.Repeat("x", 10_000), nil); len(got) != 10_000 {
		t.Errorf("repair changed a 10,000-letter word")
	}
}

// BenchmarkDetectLanguage prices the per-message language check the engine
// runs: Russian, English, transliterated and mixed messages.
func BenchmarkDetectLanguage(b *testing.B) {
	texts := []string{"Где мой заказ 5550123?", "Can you deliver in the evening?", "skolko stoit dostavka", "Привет, where is my order?", "ok"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		DetectLanguage(texts[i%len(texts)])
	}
}

func FuzzDetectLanguage(f *testing.F) {
	for _, s := range append(append([]string{"skol'ko", "ʼaʼ", strings.Repeat("zh", 40), "Привет, where"}, preparedSeeds...), understandSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		switch got := DetectLanguage(text); got {
		case "", "ru", "en":
		default:
			t.Fatalf("DetectLanguage(%q) = %q", text, got)
		}
		for _, w := range strings.Fields(Normalize(text)) {
			Transliterate(w) // must not panic on any word
		}
	})
}
