package nlu

import (
	"regexp"
	"strings"
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
