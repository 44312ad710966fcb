package flows_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
)

const kbSample = `# The lead's header comment.
faq:
  - id: delivery   # how we ship
    title: {ru: "доставку", en: "delivery"}
    questions:
      ru:
        - сколько идет доставка
        # a comment inside the list
        - "когда привезут"
      en: [how long is delivery, shipping fee]
    answer:
      ru: "1–2 дня."
      en: "1–2 days."

  # Keep this comment with the next section.
intents:
  - id: greet
    examples:
      ru: [привет, здравствуйте, добрый день]  # trailing
  - id: bye
    examples: {en: [bye, goodbye, see you]}
`

// inserted checks that got is src with exactly the text add inserted at
// one place: every byte of the lead's file, comments included, is kept.
func inserted(t *testing.T, src, got, add string) {
	t.Helper()
	i := 0
	for i < len(src) && i < len(got) && src[i] == got[i] {
		i++
	}
	// The insertion point is at most len(add) before the first difference.
	for j := i; j >= 0 && j >= i-len(add); j-- {
		if got == src[:j]+add+src[j:] {
			return
		}
	}
	t.Fatalf("want src with %q inserted, got:\n%s", add, got)
}

func TestAddExampleKeepsTheFile(t *testing.T) {
	cases := []struct {
		name, kind, id, lang, text, add string
	}{
		{"block list after a quoted item", flows.KindFAQ, "delivery", "ru", "доставка в Казань сколько", "        - доставка в Казань сколько\n"},
		{"flow list", flows.KindFAQ, "delivery", "en", "do you ship to Kazan", ", do you ship to Kazan"},
		{"flow list with a comment after it", flows.KindIntent, "greet", "ru", "доброе утро", ", доброе утро"},
		{"a text that must be quoted", flows.KindIntent, "greet", "ru", "вы тут? #срочно", `, "вы тут? #срочно"`},
		{"a colon in a block item", flows.KindFAQ, "delivery", "ru", "вопрос: доставка", "        - \"вопрос: доставка\"\n"},
		{"new language in a block mapping", flows.KindFAQ, "delivery", "de", "wie lange dauert es", "      de:\n        - wie lange dauert es\n"},
		{"new language in a flow mapping", flows.KindIntent, "bye", "ru", "пока", ", ru: [пока]"},
		{"comma in a flow list", flows.KindIntent, "bye", "en", "bye, thanks", `, "bye, thanks"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := flows.AddExample([]byte(kbSample), c.kind, c.id, c.lang, c.text)
			if err != nil {
				t.Fatal(err)
			}
			inserted(t, kbSample, string(got), c.add)
		})
	}
}

// A file written on Windows keeps its line ends.
func TestAddExampleCRLF(t *testing.T) {
	src := "# kb\r\nintents:\r\n  - id: greet\r\n    examples:\r\n      ru:\r\n        - привет\r\n        - здравствуйте\r\n\r\n  - id: bye\r\n    examples: {ru: [пока, до свидания, всего доброго]}\r\n"
	got, err := flows.AddExample([]byte(src), flows.KindIntent, "greet", "ru", "добрый день")
	if err != nil {
		t.Fatal(err)
	}
	inserted(t, src, string(got), "        - добрый день\r\n")
}

func TestAddExampleRefuses(t *testing.T) {
	for _, c := range []struct{ kind, id, lang, text, want string }{
		{flows.KindFAQ, "nope", "ru", "x", `no FAQ entry "nope"`},
		{flows.KindIntent, "delivery", "ru", "x", `no intent "delivery"`},
		{flows.KindFAQ, "delivery", "ru", "  ", "empty"},
		{flows.KindFAQ, "delivery", "ru", "a\nb", "one line"},
		{flows.KindFAQ, "delivery", "RU", "x", "language code"},
		{"flow", "delivery", "ru", "x", "want faq or intent"},
	} {
		if _, err := flows.AddExample([]byte(kbSample), c.kind, c.id, c.lang, c.text); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("AddExample(%s %s %s %q) = %v, want %q", c.kind, c.id, c.lang, c.text, err, c.want)
		}
	}
	if _, err := flows.AddExample([]byte("faq: [\n"), flows.KindFAQ, "a", "ru", "x"); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("broken file: %v", err)
	}
}

func TestAddFAQEntry(t *testing.T) {
	e := flows.NewFAQEntry{ID: "gift_wrap", Title: map[string]string{"ru": "подарочную упаковку", "en": ""},
		Questions: map[string][]string{"ru": {"можно упаковать в подарок", " есть подарочная упаковка ", ""}, "en": {"gift wrap"}},
		Answer:    map[string]string{"ru": "Да, за 150 ₽.", "en": "Yes, for 150 RUB."}}
	got, err := flows.AddFAQEntry([]byte(kbSample), e)
	if err != nil {
		t.Fatal(err)
	}
	add := "\n  - id: gift_wrap\n    title: {ru: \"подарочную упаковку\"}\n    questions:\n      en:\n        - gift wrap\n      ru:\n" +
		"        - можно упаковать в подарок\n        - есть подарочная упаковка\n    answer:\n      en: \"Yes, for 150 RUB.\"\n      ru: \"Да, за 150 ₽.\"\n"
	inserted(t, kbSample, string(got), add)
	if !strings.Contains(string(got), "      en: \"1–2 days.\"\n"+add+"\n  # Keep this comment") {
		t.Errorf("the entry is not after the last one, before the next section's comment:\n%s", got)
	}
	items, err := flows.KnowledgeBase(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 4 || items[1].ID != "gift_wrap" || items[1].Count != 3 || items[1].Title["ru"] != "подарочную упаковку" || items[3].Kind != flows.KindIntent {
		t.Errorf("knowledge base after the edit: %+v", items)
	}

	if _, err := flows.AddFAQEntry([]byte(kbSample), flows.NewFAQEntry{ID: "9x", Questions: e.Questions, Answer: e.Answer}); err == nil || !strings.Contains(err.Error(), "want letters") {
		t.Errorf("bad id: %v", err)
	}
	if _, err := flows.AddFAQEntry([]byte(kbSample), flows.NewFAQEntry{ID: "x", Questions: map[string][]string{"ru": {" "}}, Answer: e.Answer}); err == nil || !strings.Contains(err.Error(), "needs questions") {
		t.Errorf("no questions: %v", err)
	}
	// A file without faq: gets one at the end.
	got, err = flows.AddFAQEntry([]byte("intents:\n  - id: a\n    examples: {ru: [a, b, c]}"), e)
	if err != nil || !strings.HasPrefix(string(got), "intents:\n  - id: a\n    examples: {ru: [a, b, c]}\n\nfaq:\n  - id: gift_wrap\n") {
		t.Errorf("no faq: yet: %v\n%s", err, got)
	}
}

// The demo project, taught a question it misses, compiles and now takes
// the question for that entry.
func TestTeachTheDemo(t *testing.T) {
	fsys := demo.FS()
	src, err := fs.ReadFile(fsys, flows.FAQFile)
	if err != nil {
		t.Fatal(err)
	}
	before, err := flows.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	const q = "где забрать посылку если меня нет дома"
	if u := before.Understand(q); u.Kind == flows.KindFAQ && u.ID == "pickup" && u.Direct {
		t.Fatalf("the demo already answers %q: %+v; pick another question", q, u)
	}
	got, err := flows.AddExample(src, flows.KindFAQ, "pickup", "ru", q)
	if err != nil {
		t.Fatal(err)
	}
	inserted(t, string(src), string(got), "        - "+q+"\n")
	srcs, err := flows.ReadSource(fsys)
	if err != nil {
		t.Fatal(err)
	}
	srcs[flows.FAQFile] = got
	after, err := flows.Compile(srcs)
	if err != nil {
		t.Fatal(err)
	}
	if u := after.Understand(q); u.Kind != flows.KindFAQ || u.ID != "pickup" || !u.Direct {
		t.Errorf("after teaching, %q is understood as %+v, want the pickup entry, answered at once", q, u)
	}
	// The same example twice is what lint refuses.
	again, err := flows.AddExample(got, flows.KindFAQ, "pickup", "ru", q)
	if err != nil {
		t.Fatal(err)
	}
	srcs[flows.FAQFile] = again
	if _, err := flows.Compile(srcs); err == nil || !strings.Contains(err.Error(), "duplicate example") {
		t.Errorf("a duplicate example compiled: %v", err)
	}
}

// Every FAQ entry and intent of the demo, in each of its languages, takes
// a new example: one line or one list item added, read back where it was
// meant to go (AddExample checks that itself), nothing else changed.
func TestAddExampleToEveryDemoEntry(t *testing.T) {
	src, err := fs.ReadFile(demo.FS(), flows.FAQFile)
	if err != nil {
		t.Fatal(err)
	}
	items, err := flows.KnowledgeBase(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) < 15 {
		t.Fatalf("the demo's knowledge base has %d items", len(items))
	}
	for _, it := range items {
		for _, lang := range []string{"ru", "en"} {
			got, err := flows.AddExample(src, it.Kind, it.ID, lang, "новый пример: 42")
			if err != nil {
				t.Errorf("%s %s %s: %v", it.Kind, it.ID, lang, err)
				continue
			}
			if d := len(got) - len(src); d <= 0 || d > 60 || !strings.Contains(string(got), `"новый пример: 42"`) {
				t.Errorf("%s %s %s: %d bytes added", it.Kind, it.ID, lang, d)
			}
		}
	}
}
