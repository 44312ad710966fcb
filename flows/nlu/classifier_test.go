package nlu

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// faq is a small knowledge base in the shape support leads write: a few
// questions per entry in both languages.
var faq = map[string][]string{
	"delivery": {
		"сколько стоит доставка", "как долго идет доставка", "доставляете ли вы в регионы",
		"когда привезут курьером", "какие сроки доставки",
		"how much is delivery", "how long does shipping take", "do you deliver to my city",
		"when will the courier bring it",
	},
	"payment": {
		"как оплатить заказ", "можно ли оплатить картой", "принимаете ли наличные",
		"оплата при получении",
		"how can i pay", "do you accept credit cards", "can i pay in cash", "payment methods",
	},
	"returns": {
		"как вернуть товар", "хочу оформить возврат", "можно ли вернуть деньги за покупку",
		"условия возврата", "товар не подошел что делать",
		"how do i return an item", "i want to return my purchase", "what is your return policy",
		"can i get my money back",
	},
	"hours": {
		"какие у вас часы работы", "до скольки вы работаете", "вы работаете в выходные",
		"когда открывается магазин",
		"what are your opening hours", "are you open on sunday", "when do you close",
		"what time do you open",
	},
	"order_status": {
		"где мой заказ", "какой статус заказа", "мой заказ не пришел", "отследить заказ",
		"когда будет мой заказ",
		"where is my order", "track my order", "what is the status of my order",
		"my order has not arrived",
	},
}

func faqExamples(withOOS bool) []Example {
	var ex []Example
	for _, label := range []string{"delivery", "payment", "returns", "hours", "order_status"} {
		for _, q := range faq[label] {
			ex = append(ex, Example{Text: q, Label: label})
		}
	}
	if withOOS {
		for _, q := range []string{
			"какая завтра погода", "расскажи анекдот", "кто выиграл матч", "как приготовить борщ",
			"what is the weather tomorrow", "tell me a joke", "who won the game",
			"how do i cook pasta",
		} {
			ex = append(ex, Example{Text: q, Label: OOSLabel})
		}
	}
	return ex
}

func trainFAQ(t *testing.T, withOOS bool) *Classifier {
	t.Helper()
	c, err := Train(faqExamples(withOOS), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassifierAnswersFAQInBothLanguages(t *testing.T) {
	for _, withOOS := range []bool{false, true} {
		c := trainFAQ(t, withOOS)
		for text, want := range map[string]string{
			// unseen wordings, other word forms
			"Сколько стоит доставка в Казань?": "delivery",
			"доставкой в регион занимаетесь?":  "delivery",
			"Как мне оплатить картой?":         "payment",
			"хочу вернуть товар":               "returns",
			"до скольки работаете сегодня":     "hours",
			"Где мой заказ??":                  "order_status",
			"How much does delivery cost?":     "delivery",
			"Can I pay by card?":               "payment",
			"I'd like to return this item":     "returns",
			"Are you open on Saturday?":        "hours",
			"Where is my order #12345?":        "order_status",
			// typos
			"скока стоит доставкa": "delivery", // latin "a" at the end
			"как оплотить заказ":   "payment",
			"whre is my ordr":      "order_status",
		} {
			p := c.Classify(text)
			if p.Label != want || p.OOS {
				t.Errorf("withOOS=%v: Classify(%q) = %s (%.2f, oos=%v), want %s in scope; top %v",
					withOOS, text, p.Label, p.Score, p.OOS, want, p.Top)
			}
		}
	}
}

func TestClassifierFlagsOutOfScope(t *testing.T) {
	for _, withOOS := range []bool{false, true} {
		c := trainFAQ(t, withOOS)
		for _, text := range []string{
			"какой курс биткоина",
			"what's the capital of France",
			"qwerty zxcvb",
			"!!!",
			"",
		} {
			if p := c.Classify(text); !p.OOS {
				t.Errorf("withOOS=%v: Classify(%q) = %s (%.2f), want out of scope (threshold %.2f)",
					withOOS, text, p.Label, p.Score, c.Threshold())
			}
		}
		// Sharing one FAQ word ("сколько") must not make a stray question a
		// confident answer: at most the middling band where a flow asks to confirm.
		if p := c.Classify("сколько лет Земле"); !p.OOS && p.Score > 0.7 {
			t.Errorf("withOOS=%v: stray question answered with confidence %.2f: %+v", withOOS, p.Score, p)
		}
	}
}

func TestCalibrationSanity(t *testing.T) {
	c := trainFAQ(t, true)
	if c.Temperature() <= 0 || math.IsNaN(c.Temperature()) {
		t.Fatalf("temperature %v", c.Temperature())
	}
	for _, text := range []string{"где мой заказ", "how can i pay", "blah", "доставка оплата возврат"} {
		p := c.Classify(text)
		if len(p.Top) == 0 || p.Top[0].Label != p.Label || p.Top[0].Score != p.Score {
			t.Fatalf("Classify(%q): Top %v does not start with the prediction %s", text, p.Top, p.Label)
		}
		sum := 0.0
		for i, s := range p.Top {
			if s.Score < 0 || s.Score > 1 || (i > 0 && s.Score > p.Top[i-1].Score) {
				t.Errorf("Classify(%q): Top not in [0,1] or not sorted: %v", text, p.Top)
			}
			if s.Label == OOSLabel {
				t.Errorf("Classify(%q): Top holds the out-of-scope class", text)
			}
			sum += s.Score
		}
		if sum > 1+1e-9 {
			t.Errorf("Classify(%q): probabilities sum to %v > 1", text, sum)
		}
	}
	// A clear question scores higher than a vague one.
	clear, vague := c.Classify("где мой заказ"), c.Classify("заказ")
	if clear.Score <= vague.Score {
		t.Errorf("clear question %.3f scored no higher than a vague one %.3f", clear.Score, vague.Score)
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	a, b := trainFAQ(t, true), trainFAQ(t, true)
	for _, text := range []string{"где мой заказ", "how do i pay", "какая погода", "вернуть"} {
		if diff := cmp.Diff(a.Classify(text), b.Classify(text)); diff != "" {
			t.Errorf("Classify(%q) differs between two trainings:\n%s", text, diff)
		}
	}
	if a.Threshold() != b.Threshold() || a.Temperature() != b.Temperature() {
		t.Errorf("calibration differs: %v/%v vs %v/%v", a.Threshold(), a.Temperature(), b.Threshold(), b.Temperature())
	}
}

func TestTrainRejectsBadExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		ex   []Example
		want []string
	}{
		{"none", nil, []string{"no training examples"}},
		{"empty label", []Example{{Text: "hi", Label: "greet"}, {Text: "bye", Label: " "}}, []string{"example 2", "empty label"}},
		{"no words", []Example{{Text: "hi", Label: "greet"}, {Text: "?!", Label: "greet"}}, []string{"example 2", "no words"}},
		{"only oos", []Example{{Text: "weather", Label: OOSLabel}}, []string{"no in-scope examples"}},
	} {
		_, err := Train(tc.ex, Options{})
		if err == nil {
			t.Errorf("%s: Train succeeded", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
}

func TestSingleLabelAndTinyFAQ(t *testing.T) {
	c, err := Train([]Example{{Text: "где мой заказ", Label: "status"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Classify("где заказ"); p.Label != "status" || p.Score != 1 || p.OOS {
		t.Errorf("one-label classifier: %+v", p)
	}
	if p := c.Classify("погода"); !p.OOS {
		t.Errorf("one-label classifier took an unknown word in scope: %+v", p)
	}
}

func TestSynonymsHelpClassify(t *testing.T) {
	ex := []Example{
		{Text: "как оформить возврат", Label: "returns"},
		{Text: "условия возврата", Label: "returns"},
		{Text: "сколько стоит доставка", Label: "delivery"},
		{Text: "сроки доставки", Label: "delivery"},
	}
	c, err := Train(ex, Options{Synonyms: map[string][]string{"возврат": {"сдать обратно"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Classify("хочу сдать обратно"); p.Label != "returns" || p.OOS {
		t.Errorf("synonym not applied: %+v", p)
	}
}

func TestClassifyConcurrently(t *testing.T) {
	c := trainFAQ(t, true)
	want := c.Classify("где мой заказ")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if got := c.Classify("где мой заказ"); !cmp.Equal(got, want) {
					t.Errorf("concurrent Classify differs: %+v", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}
