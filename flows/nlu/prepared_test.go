package nlu

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// preparedSeeds exercise the corners Prepare must agree with Normalize on:
// apostrophes next to letters, digits and clause punctuation, combining
// accents, the letter 'ʼ', invalid UTF-8, upper case outside ASCII.
var preparedSeeds = []string{
	"", "где мой заказ", "ВЕРНИТЕ ДЕНЬГИ!!! Сколько можно?", "Don't STOP. it's fine: ok(yes)",
	"a'b 'c d' 5's x''y", "мо́й зака́з", "ʼaʼ bʼc", "\xff\xfeпривет\xff", "ÀÉÎ Ǆ ǅ ﬁ İstanbul",
	"не плохо, спасибо))", "why?..no;yes\nok…fine", "Ёлки-Палки!!", "12 345 №6", "’quoted’ it’s",
	"a\u0301'b", "hello'\u0301world", "KELVIN \u212a", "ǅemal's",
}

func TestPrepareMatchesNormalizeAndClauses(t *testing.T) {
	for _, text := range preparedSeeds {
		checkPrepared(t, text)
	}
}

func FuzzPrepare(f *testing.F) {
	for _, s := range preparedSeeds {
		f.Add(s)
	}
	f.Fuzz(checkPrepared)
}

// checkPrepared compares Prepare with the plain path: Normalize, its words,
// and the words of each clause that splitClauses cuts.
func checkPrepared(t *testing.T, text string) {
	t.Helper()
	p := Prepare(text)
	text = clipText(text)
	if want := Normalize(text); p.Norm != want {
		t.Fatalf("Prepare(%q).Norm = %q, want %q", text, p.Norm, want)
	}
	if diff := cmp.Diff(tokens(Normalize(text)), p.Words(), cmp.Comparer(func(a, b []string) bool {
		return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
	})); diff != "" {
		t.Fatalf("Prepare(%q) words (-want +got):\n%s", text, diff)
	}
	if diff := cmp.Diff(stemAll(p.toks), p.stems); diff != "" && len(p.toks) > 0 {
		t.Fatalf("Prepare(%q) stems (-want +got):\n%s", text, diff)
	}
	type cl struct {
		Words    string
		Question bool
	}
	var want, got []cl
	for _, c := range splitClauses(text) {
		if w := tokens(Normalize(c.text)); len(w) > 0 {
			want = append(want, cl{strings.Join(w, " "), c.question})
		}
	}
	for _, c := range p.clauses {
		got = append(got, cl{strings.Join(p.toks[c.from:c.to], " "), c.question})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Prepare(%q) clauses (-want +got):\n%s", text, diff)
	}
}

func TestPreparedResetReusesBuffersSafely(t *testing.T) {
	s := NewScorer()
	p := Prepare("это ужасно, верните деньги")
	first := s.ScorePrepared(p)
	evidence := strings.Join(first.Evidence, "|")
	p.Reset("всё отлично, спасибо")
	second := s.ScorePrepared(p)
	if got := strings.Join(first.Evidence, "|"); got != evidence {
		t.Fatalf("evidence changed after Reset: %q, was %q", got, evidence)
	}
	if !first.Negative || second.Negative {
		t.Fatalf("first %+v, second %+v: want negative then not", first, second)
	}
	if diff := cmp.Diff(s.Score("всё отлично, спасибо"), second); diff != "" {
		t.Fatalf("ScorePrepared after Reset differs from Score (-want +got):\n%s", diff)
	}
}

// requestRE is the regular expression asksForHelp replaced.
var requestRE = regexp.MustCompile(`подскаж|скажите|помогите|объясните|уточните|\bplease\b|\bcan you\b|\bcould you\b|\bhow (do|can) i\b|\bwhat should i\b`)

var askSeeds = []string{
	"Подскажите, где заказ", "PLEASE help", "pleased to meet", "xplease", "please_", "please1", "ok please",
	"Can you?", "can your", "scan you", "How do I pay", "how do it", "HOW CAN I", "what should i do",
	"what should it", "ПОМОГИТЕ!", "скажитеee", "\xffplease\xff", "Kelvin \u212a please", "pleaseplease please",
	"how  do i", "сan you", "", "İ please",
}

func TestAsksForHelpMatchesRegexp(t *testing.T) {
	for _, s := range askSeeds {
		if got, want := asksForHelp(s), requestRE.MatchString(strings.ToLower(s)); got != want {
			t.Errorf("asksForHelp(%q) = %v, the regular expression says %v", s, got, want)
		}
	}
}

func FuzzAsksForHelp(f *testing.F) {
	for _, s := range askSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := asksForHelp(s), requestRE.MatchString(strings.ToLower(s)); got != want {
			t.Fatalf("asksForHelp(%q) = %v, the regular expression says %v", s, got, want)
		}
	})
}

func TestShoutingCountsLetterRuns(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"ГДЕ МОЙ ЗАКАЗ", false}, // one caps word of 4+ letters
		{"ГДЕ МОЙ ЗАКАЗ БЛИН", true},
		{"ЗАКАЗ ДОСТАВКА где мой он", false},
		{"ЗАКАЗ ДОСТАВКА где мой", true},
		{"WHERE IS MY ORDER", true},
		{"ÉCOLE ÉTAPE", true},
		{"МТС ВТБ SMS", false},
		{"ЗАКАЗ5ДОСТАВКА", true},
	} {
		if got := shouting(tc.in); got != tc.want {
			t.Errorf("shouting(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// understandSeeds are short customer messages of the kinds the engine sees.
var understandSeeds = []string{
	"хочу вернуть товар", "абракадабра", "когда работаете?", "привет", "скока стоит доставкa",
	"Верните деньги, это просто ужасно!!!", "позовите оператора", "where is my order", "refund please",
	"не плохо, спасибо))", "ГДЕ МОЙ ЗАКАЗ", "user agent", "12345", "", "как вернуть деньги за привоз",
}

// TestPreparedAPIMatchesTextAPI holds the *Prepared functions to the text
// ones, with one Prepared reused across messages as the engine would.
func TestPreparedAPIMatchesTextAPI(t *testing.T) {
	clf, err := Train(faqExamples(true), Options{Synonyms: map[string][]string{"возврат": {"вернуть деньги", "refund"}, "доставка": {"привоз"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := NewScorer()
	p := Prepare("")
	for _, text := range append(understandSeeds, preparedSeeds...) {
		p.Reset(text)
		if diff := cmp.Diff(clf.Classify(text), clf.ClassifyPrepared(p)); diff != "" {
			t.Errorf("ClassifyPrepared(%q) (-Classify +Prepared):\n%s", text, diff)
		}
		if diff := cmp.Diff(s.Score(text), s.ScorePrepared(p)); diff != "" {
			t.Errorf("ScorePrepared(%q) (-Score +Prepared):\n%s", text, diff)
		}
		h, ev := RequestsHuman(text)
		hp, evp := RequestsHumanPrepared(p)
		if diff := cmp.Diff([]any{h, ev}, []any{hp, evp}); diff != "" {
			t.Errorf("RequestsHumanPrepared(%q) (-RequestsHuman +Prepared):\n%s", text, diff)
		}
	}
}

// TestHotPathAllocations: a message costs the answer's allocations only
// (the normalised text, Prediction.Top, evidence), not the scratch buffers.
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	clf, err := Train(faqExamples(true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewScorer()
	p := Prepare("")
	for _, tc := range []struct {
		name string
		max  float64
		f    func()
	}{
		{"Classify", 2, func() { clf.Classify("когда работаете?") }},
		{"ClassifyPrepared", 1, func() { clf.ClassifyPrepared(p) }},
		{"Score", 1, func() { s.Score("когда работаете?") }},
		{"ScorePrepared", 0, func() { s.ScorePrepared(p) }},
		{"RequestsHumanPrepared", 0, func() { RequestsHumanPrepared(p) }},
		{"Reset", 1, func() { p.Reset("когда работаете?") }},
	} {
		p.Reset("когда работаете?")
		tc.f() // warm the pools and the word cache
		// A garbage collection may empty a pool mid-run: allow half an
		// allocation more on average.
		got := testing.AllocsPerRun(200, tc.f)
		t.Logf("%s: %.2f allocations per message", tc.name, got)
		if got > tc.max+0.5 {
			t.Errorf("%s: %.1f allocations per message, want at most %.0f", tc.name, got, tc.max)
		}
	}
}

// BenchmarkUnderstandPrepared prices what the engine pays per message when
// it prepares once and runs the three matchers, against the text functions.
func BenchmarkUnderstandPrepared(b *testing.B) {
	clf, err := Train(faqExamples(true), Options{Synonyms: map[string][]string{"возврат": {"вернуть деньги", "refund"}}})
	if err != nil {
		b.Fatal(err)
	}
	s := NewScorer()
	texts := understandSeeds[:5]
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		p := Prepare("")
		for i := 0; b.Loop(); i++ {
			p.Reset(texts[i%len(texts)])
			clf.ClassifyPrepared(p)
			s.ScorePrepared(p)
			RequestsHumanPrepared(p)
		}
	})
	b.Run("text", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			text := texts[i%len(texts)]
			clf.Classify(text)
			s.Score(text)
			RequestsHuman(text)
		}
	})
}

// TestCachedCharColumnsMatchHashing: the classifier's per-word cache of
// character columns gives the same scores, bit for bit, as hashing every
// n-gram of the message (training's path), for short messages merged word
// by word and long ones sorted.
func TestCachedCharColumnsMatchHashing(t *testing.T) {
	clf, err := Train(faqExamples(true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := clf.m
	long := strings.Repeat("доставка оплата возврат сколько стоит когда привезут ", 5)
	for _, text := range append(append(understandSeeds, preparedSeeds...), long, long+long) {
		want := make([]float32, len(m.labels))
		wantKnown := m.logits(text, want)
		for range 2 { // cold and warm cache
			p := Prepare(text)
			sc := m.newScratch()
			toks, stems := m.feat.wordsOf(p.toks, p.stems, &sc.featScratch)
			gotKnown := m.logitsOf(toks, stems, sc, true)
			if diff := cmp.Diff(want, sc.logits); diff != "" || gotKnown != wantKnown {
				t.Fatalf("%q: cached known %v, hashed %v; logits (-hashed +cached):\n%s", text, gotKnown, wantKnown, diff)
			}
		}
	}
}

// TestCachesUnderConcurrentUse fills a fresh classifier's word cache from
// eight goroutines at once (run it with -race) and holds every answer to
// those of an identical classifier used from one goroutine.
func TestCachesUnderConcurrentUse(t *testing.T) {
	ref, err := Train(faqExamples(true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	clf, err := Train(faqExamples(true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewScorer()
	texts := append(append([]string{}, understandSeeds...), preparedSeeds...)
	want := make([]Prediction, len(texts))
	for i, text := range texts {
		want[i] = ref.Classify(text)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			p := Prepare("")
			for k := range texts {
				i := (k + g) % len(texts) // each goroutine starts elsewhere
				p.Reset(texts[i])
				if got := clf.ClassifyPrepared(p); !cmp.Equal(got, want[i]) {
					t.Errorf("%q: concurrent %+v, want %+v", texts[i], got, want[i])
				}
				s.ScorePrepared(p)
				RequestsHumanPrepared(p)
			}
		})
	}
	wg.Wait()
}

// TestPreparedIsReadOnlyToMatchers runs the three matchers on one Prepared
// from several goroutines (run it with -race): they only read it.
func TestPreparedIsReadOnlyToMatchers(t *testing.T) {
	clf, err := Train(faqExamples(true), Options{Synonyms: map[string][]string{"возврат": {"вернуть деньги"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := NewScorer()
	const text = "Верните деньги, вы издеваетесь?! Позовите оператора, не работает доставка"
	p := Prepare(text)
	wantC, wantS := clf.Classify(text), s.Score(text)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := clf.ClassifyPrepared(p); !cmp.Equal(got, wantC) {
					t.Errorf("ClassifyPrepared = %+v, want %+v", got, wantC)
				}
				if got := s.ScorePrepared(p); !cmp.Equal(got, wantS) {
					t.Errorf("ScorePrepared = %+v, want %+v", got, wantS)
				}
				if ok, _ := RequestsHumanPrepared(p); !ok {
					t.Errorf("RequestsHumanPrepared missed the request")
				}
			}
		})
	}
	wg.Wait()
}

// TestClassifierLeavesPreparedWords: transliteration, chat spellings and
// synonyms rewrite the words in the classifier's scratch, never in the
// Prepared, also when the scratch served a message that needed no rewrite.
func TestClassifierLeavesPreparedWords(t *testing.T) {
	clf, err := Train(faqExamples(true), Options{Synonyms: map[string][]string{"возврат": {"сдать обратно"}}})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"where is my order please", "gde moi zakaz", "скока стоит доставка", "хочу сдать обратно", "как оплатить", "skolko stoit dostavka"}
	var ps []*Prepared
	var want [][]string
	for _, text := range texts {
		p := Prepare(text)
		ps = append(ps, p)
		want = append(want, slices.Clone(p.Words()))
	}
	for range 3 {
		for _, p := range ps {
			clf.ClassifyPrepared(p)
		}
	}
	for i, p := range ps {
		if !slices.Equal(p.Words(), want[i]) {
			t.Errorf("%q: words %q after classifying, want %q", texts[i], p.Words(), want[i])
		}
	}
}
