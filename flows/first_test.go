package flows_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
)

// firstProject greets, waits at a menu and answers from a small FAQ; a
// greeting goes back to the start node; delivery loops back to it after
// answering.
const firstFAQ = `faq:
  - id: delivery
    title: {ru: доставку, en: delivery}
    questions:
      ru: [сколько стоит доставка, доставка платная, когда привезут, сколько идет доставка]
      en: [how much is delivery, when will it arrive, is shipping free]
    answer: "Доставка бесплатна от 3000 ₽."
  - id: payment
    title: {ru: оплату, en: payment}
    questions:
      ru: [как оплатить, можно картой, принимаете наличные]
      en: [how can i pay, do you take cards, can i pay cash]
    answer: "Картой или наличными."
intents:
  - id: greet
    examples:
      ru: [привет, здравствуйте, добрый день]
      en: [hello, hi there, good morning]
`

const firstMain = `flow: main
start: hello
nodes:
  hello:
    say: "Здравствуйте! Чем помочь?"
    buttons:
      - {text: Доставка, value: delivery}
      - {text: Оплата, value: payment}
    next: menu
  menu:
    wait: true
    branch:
      - if: payload == "delivery"
        goto: delivery_again
      - if: intent == "greet" && !out_of_scope
        goto: hello
      - if: faq.id != "" && !out_of_scope
        goto: answer
    else: sorry
  answer:
    say: "{{ faq.answer }}"
    next: menu
  delivery_again:
    say: "Доставка бесплатна от 3000 ₽."
    next: hello
  sorry:
    say: "Не понял."
    next: menu
`

func loadFirst(t *testing.T, mainFlow string) *flows.Engine {
	t.Helper()
	p, err := flows.LoadFS(fstest.MapFS{
		"parley.yaml":     {Data: []byte("name: first\ndefault_lang: ru\nlanguages: [ru, en]\nstart: main\n")},
		"faq.yaml":        {Data: []byte(firstFAQ)},
		"flows/main.yaml": {Data: []byte(mainFlow)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.NewEngine(flows.Options{})
}

// sayTexts lists the texts of the Say outputs.
func sayTexts(out []flows.Output) []string {
	var s []string
	for _, o := range out {
		if o.Kind == flows.Say {
			s = append(s, o.Text)
		}
	}
	return s
}

func TestFirstMessageIsAnswered(t *testing.T) {
	e := loadFirst(t, firstMain)
	ctx := context.Background()
	greeting := "Здравствуйте! Чем помочь?"
	for _, tc := range []struct {
		name string
		in   flows.Input
		want []string
	}{
		{"a question gets the greeting and the answer", flows.Input{Text: "А доставка платная?"}, []string{greeting, "Доставка бесплатна от 3000 ₽."}},
		{"a start command only greets", flows.Input{Text: "/start"}, []string{greeting}},
		{"a deep-link start only greets", flows.Input{Text: "/start promo42"}, []string{greeting}},
		{"a greeting is greeted once", flows.Input{Text: "привет"}, []string{greeting}},
		{"what is not understood is said so", flows.Input{Text: "ыва ыва"}, []string{greeting, "Не понял."}},
		{"a stale button only greets", flows.Input{Text: "Оплата", Payload: "payment"}, []string{greeting}},
		{"a number is no choice of buttons the customer has not seen", flows.Input{Text: "1"}, []string{greeting, "Не понял."}},
		{"greeted: the answer without a second greeting", flows.Input{Text: "как оплатить?", Greeted: true}, []string{"Картой или наличными."}},
		{"greeted: an opening button is answered, and its loop back to the greeting kept", flows.Input{Text: "Доставка", Payload: "delivery", Greeted: true}, []string{"Доставка бесплатна от 3000 ₽.", greeting}},
		{"greeted: a button's number is answered", flows.Input{Text: "1", Greeted: true}, []string{"Доставка бесплатна от 3000 ₽.", greeting}},
		{"greeted: a greeting is answered with the greeting", flows.Input{Text: "привет", Greeted: true}, []string{greeting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, out, err := e.Step(ctx, flows.State{}, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, sayTexts(out)); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if !st.Waiting || st.Flow != "main" {
				t.Errorf("state %+v: want waiting in main", st)
			}
			if st.Fallbacks > 0 && tc.name != "what is not understood is said so" && !strings.Contains(tc.name, "no choice") {
				t.Errorf("fallbacks = %d, want 0", st.Fallbacks)
			}
		})
	}
}

// After a greeting answered by the greeting, the next message is answered
// as at any menu: the state went back to the wait.
func TestFirstGreetingThenQuestion(t *testing.T) {
	e := loadFirst(t, firstMain)
	ctx := context.Background()
	st, _, _ := e.Step(ctx, flows.State{}, flows.Input{Text: "привет"})
	if st.Node != "menu" || !st.Waiting || st.Turns != 1 {
		t.Fatalf("after привет: %+v", st)
	}
	_, out, _ := e.Step(ctx, st, flows.Input{Text: "как оплатить"})
	if diff := cmp.Diff([]string{"Картой или наличными."}, sayTexts(out)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A question the start asks is new to a customer who has not seen it: the
// first message does not answer it, unless the channel showed it.
func TestFirstMessageDoesNotAnswerAnUnseenQuestion(t *testing.T) {
	e := loadFirst(t, `flow: main
start: name
nodes:
  name:
    ask: "Как вас зовут?"
    save: name
    next: hi
  hi:
    say: "Здравствуйте, {{ vars.name }}!"
`)
	ctx := context.Background()
	st, out, _ := e.Step(ctx, flows.State{}, flows.Input{Text: "привет"})
	if diff := cmp.Diff([]string{"Как вас зовут?"}, sayTexts(out)); diff != "" || st.Node != "name" {
		t.Errorf("not greeted: %+v (-want +got):\n%s", st, diff)
	}
	_, out, _ = e.Step(ctx, flows.State{}, flows.Input{Text: "Анна", Greeted: true})
	if diff := cmp.Diff([]string{"Здравствуйте, Анна!"}, sayTexts(out)); diff != "" {
		t.Errorf("greeted (-want +got):\n%s", diff)
	}
}

func TestOpening(t *testing.T) {
	e := loadFirst(t, firstMain)
	out := e.Opening(context.Background(), flows.Input{Channel: "web", Contact: flows.Contact{Lang: "en-GB"}, Debug: true})
	want := []flows.Output{{Kind: flows.Say, Text: "Здравствуйте! Чем помочь?", Buttons: []flows.Button{{Text: "Доставка", Value: "delivery"}, {Text: "Оплата", Value: "payment"}}}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("opening (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out := e.Opening(ctx, flows.Input{}); out != nil {
		t.Errorf("cancelled: %v", out)
	}
}

// The demo answers a first question with its greeting and the answer.
func TestDemoAnswersTheFirstQuestion(t *testing.T) {
	e := loadDemo(t).NewEngine(flows.Options{HTTP: orders{}})
	_, out, err := e.Step(context.Background(), flows.State{}, flows.Input{Text: "Сколько стоит доставка?"})
	if err != nil {
		t.Fatal(err)
	}
	s := sayTexts(out)
	if len(s) < 2 || !strings.HasPrefix(s[0], "Здравствуйте") || !strings.Contains(strings.Join(s[1:], "\n"), "3000") {
		t.Errorf("first question got %q; want the greeting and the delivery answer", s)
	}
}
