package nlu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadJSONL(t *testing.T) {
	good := "{\"text\": \"где заказ\", \"label\": \"status\"}\n\n{\"text\":\"hi\",\"label\":\"greet\",\"answer\":\"x\"}\r\n"
	ex, err := ReadJSONL(strings.NewReader(good), "good.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || ex[0] != (Example{Text: "где заказ", Label: "status"}) || ex[1].Label != "greet" {
		t.Errorf("ReadJSONL = %+v", ex)
	}
	for _, tc := range []struct{ in, want string }{
		{"{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\"}\n", "bad.jsonl:2: missing \"label\""},
		{"{\"label\": \"x\"}\n", "bad.jsonl:1: missing \"text\""},
		{"{\"text\": \"a\", \"label\": \"x\"}\nnot json\n", "bad.jsonl:2: invalid character"},
		{"\n\n", "bad.jsonl: no examples"},
	} {
		_, err := ReadJSONL(strings.NewReader(tc.in), "bad.jsonl")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ReadJSONL(%q) error %v, want prefix %q", tc.in, err, tc.want)
		}
	}
}

func TestScoreIntents(t *testing.T) {
	test := []Example{{"a", "x"}, {"b", "x"}, {"c", "y"}, {"d", OOSLabel}, {"e", OOSLabel}}
	preds := []string{"x", OOSLabel, "y", OOSLabel, "x"}
	r := scoreIntents(test, preds)
	want := IntentReport{Test: 5, InScopeAccuracy: 2.0 / 3, OOSRecall: 0.5, OOSPrecision: 0.5}
	// per label F1: x: p=1/2 r=1/2 -> .5; y: 1; oos: p=1/2 r=1/2 -> .5
	want.MacroF1 = (0.5 + 1 + 0.5) / 3
	if fmt.Sprintf("%.6f", r.MacroF1) != fmt.Sprintf("%.6f", want.MacroF1) {
		t.Errorf("macro F1 %v, want %v", r.MacroF1, want.MacroF1)
	}
	r.MacroF1 = want.MacroF1
	if r != want {
		t.Errorf("scoreIntents = %+v, want %+v", r, want)
	}
}

func TestCrossValidateFAQ(t *testing.T) {
	// Two examples per entry and language are left to train each fold on;
	// the out-of-scope threshold is switched off to measure the matcher.
	r, err := CrossValidate(faqExamples(false), 3, Options{OOSThreshold: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	if r.Folds != 3 || r.Test != len(faqExamples(false)) {
		t.Errorf("report %+v", r)
	}
	// Each fold answers unseen wordings of a 5-entry FAQ: a floor, not a goal.
	if r.InScopeAccuracy < 0.6 {
		t.Errorf("3-fold in-scope accuracy %.2f on the test FAQ", r.InScopeAccuracy)
	}
	if _, err := CrossValidate(faqExamples(false), 1, Options{}); err == nil {
		t.Error("1 fold accepted")
	}
}

func TestEvalSentimentRejectsUnknownLabels(t *testing.T) {
	_, err := EvalSentiment(NewScorer(), []Example{{"ok", "positive"}, {"hm", "angry"}})
	if err == nil || !strings.Contains(err.Error(), `example 2: label "angry"`) {
		t.Errorf("error %v", err)
	}
	r, err := EvalSentiment(NewScorer(), []Example{{"ужасно", "negative"}, {"отлично", "positive"}, {"где заказ", "neutral"}, {"ок", "negative"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.NegativePrecision != 1 || r.NegativeRecall != 0.5 || r.Accuracy != 0.75 || r.Negatives != 2 {
		t.Errorf("report %+v", r)
	}
}

// datasets is where the shared third-party data sets live, beside the
// repository; tests that need them skip when it is absent.
func datasets(t testing.TB, rel string) []Example {
	t.Helper()
	path := filepath.Join("..", "..", "..", "shared", "datasets", rel)
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("data set absent: %v", err)
	}
	defer f.Close()
	ex, err := ReadJSONL(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestCLINC150 trains on CLINC150's train split and measures val, with
// floors a little under the figures in README.md, and the calibration of
// the scores. About 15 s on 2 cores.
func TestCLINC150(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("trains on 15,100 examples")
	}
	train := datasets(t, "intents/clinc150/train.jsonl")
	val := datasets(t, "intents/clinc150/val.jsonl")
	r, err := EvalIntents(train, val, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CLINC150 val: %+v", r)
	if r.InScopeAccuracy < 0.92 || r.OOSRecall < 0.70 {
		t.Errorf("CLINC150 val: in-scope accuracy %.4f (floor 0.92), OOS recall %.2f (floor 0.70)", r.InScopeAccuracy, r.OOSRecall)
	}

	// Calibration: in ten score bins, the share of right answers should
	// match the mean score (expected calibration error, in-scope messages).
	c, err := Train(train, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var n [10]int
	var conf, right [10]float64
	total := 0
	for _, e := range val {
		if e.Label == OOSLabel {
			continue
		}
		p := c.Classify(e.Text)
		b := min(int(p.Score*10), 9)
		n[b]++
		conf[b] += p.Score
		if p.Label == e.Label {
			right[b]++
		}
		total++
	}
	ece := 0.0
	for b := range n {
		if n[b] > 0 {
			ece += math.Abs(conf[b]-right[b]) / float64(total)
		}
	}
	t.Logf("CLINC150 val expected calibration error %.4f (temperature %.3f)", ece, c.Temperature())
	if ece > 0.04 {
		t.Errorf("expected calibration error %.4f over 0.04", ece)
	}
}

// TestSentimentDatasets checks negative F1 floors on the evaluation sets,
// a little under the figures in README.md.
func TestSentimentDatasets(t *testing.T) {
	s := NewScorer()
	for rel, floor := range map[string]float64{
		"sentiment/ru-sentirueval2015/train.jsonl": 0.64,
		"sentiment/en-tweeteval/val.jsonl":         0.50,
	} {
		r, err := EvalSentiment(s, datasets(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		if r.NegativeF1 < floor {
			t.Errorf("%s: negative F1 %.3f under the floor %.2f", rel, r.NegativeF1, floor)
		}
	}
}

// syntheticFAQ builds n entries of k questions each from a fixed
// vocabulary, for benchmarks at sizes no hand-written FAQ has.
func syntheticFAQ(n, k int) []Example {
	words := strings.Fields(`заказ доставка оплата возврат карта курьер магазин часы скидка бонус
		аккаунт пароль телефон адрес счет чек товар размер цвет гарантия ремонт обмен подарок
		order delivery payment refund card courier store hours discount bonus account password
		phone address invoice receipt item size color warranty repair exchange gift`)
	glue := strings.Fields("как где когда можно ли мне хочу нужно почему how where when can i want need why my the")
	rng := rand.New(rand.NewPCG(1, 2))
	var ex []Example
	for e := range n {
		topic := []string{words[rng.IntN(len(words))], words[rng.IntN(len(words))], fmt.Sprintf("w%d", e)}
		for range k {
			q := []string{glue[rng.IntN(len(glue))], topic[0], glue[rng.IntN(len(glue))], topic[1], topic[2]}
			rng.Shuffle(len(q), func(i, j int) { q[i], q[j] = q[j], q[i] })
			ex = append(ex, Example{Text: strings.Join(q, " "), Label: fmt.Sprintf("entry%d", e)})
		}
	}
	return ex
}

func BenchmarkClassifyFAQ1000(b *testing.B) {
	ex := syntheticFAQ(1000, 5)
	c, err := Train(ex, Options{Epochs: 5})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Classify(ex[i%len(ex)].Text + " пожалуйста")
	}
}

func BenchmarkClassifyCLINC150(b *testing.B) {
	train := datasets(b, "intents/clinc150/train.jsonl")
	val := datasets(b, "intents/clinc150/val.jsonl")
	c, err := Train(train, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		c.Classify(val[i%len(val)].Text)
	}
}

func BenchmarkTrainFAQ(b *testing.B) {
	ex := faqExamples(true)
	for b.Loop() {
		if _, err := Train(ex, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	s := NewScorer()
	texts := []string{"Верните деньги, это просто ужасно!!!", "Where is my order?", "не плохо, спасибо))", "this is NOT good at all"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Score(texts[i%len(texts)])
	}
}

func FuzzClassifyAndScore(f *testing.F) {
	c, err := Train(faqExamples(true), Options{})
	if err != nil {
		f.Fatal(err)
	}
	s := NewScorer()
	for _, seed := range []string{"где мой заказ", "ВЕРНИТЕ ДЕНЬГИ!!!", "", "\xff\xfe", "ё", "a'b", "((((", "не не не плохо"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p := c.Classify(text)
		if p.Score < 0 || p.Score > 1 || len(p.Top) == 0 {
			t.Fatalf("Classify(%q) = %+v", text, p)
		}
		if sc := s.Score(text); sc.Score < -1 || sc.Score > 1 {
			t.Fatalf("Score(%q) = %+v", text, sc)
		}
		RequestsHuman(text)
		if n := Normalize(text); Normalize(n) != n {
			t.Fatalf("Normalize not idempotent on %q", text)
		}
	})
}

// CrossPredict labels every example once, from a model that did not see it,
// on the folds CrossValidate uses: its pooled accuracy is CrossValidate's.
func TestCrossPredictMatchesCrossValidate(t *testing.T) {
	var ex []Example
	for _, l := range []struct{ label, words string }{
		{"delivery", "доставка курьер привезут когда срок"},
		{"payment", "оплата карта наличные счет чек"},
		{"returns", "возврат вернуть деньги брак обмен"},
	} {
		w := strings.Fields(l.words)
		for i := range 10 {
			ex = append(ex, Example{Text: w[i%len(w)] + " " + w[(i+1)%len(w)] + " " + w[(i+3)%len(w)], Label: l.label})
		}
	}
	preds, err := CrossPredict(ex, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	right := 0
	for i, e := range ex {
		if preds[i] == "" {
			t.Fatalf("example %d has no prediction", i)
		}
		if preds[i] == e.Label {
			right++
		}
	}
	r, err := CrossValidate(ex, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(right) / float64(len(ex)); math.Abs(got-r.InScopeAccuracy) > 1e-9 {
		t.Errorf("CrossPredict accuracy %.4f, CrossValidate %.4f: not the same folds", got, r.InScopeAccuracy)
	}
	if _, err := CrossPredict(ex, 1, Options{}); err == nil {
		t.Error("one fold accepted")
	}
}
