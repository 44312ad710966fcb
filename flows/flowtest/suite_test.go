package flowtest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// suiteProject answers FAQ entries, takes an order number into the order
// flow, thanks, hands negative messages and requests for a person over
// (the default escalation), and falls back on anything else.
var suiteProject = fstest.MapFS{
	"parley.yaml": {Data: []byte("name: s\ndefault_lang: ru\nlanguages: [ru, en]\nstart: main\n")},
	"faq.yaml": {Data: []byte(`faq:
  - id: delivery
    title: {ru: доставку, en: delivery}
    questions:
      ru: [сколько стоит доставка, доставка платная, когда привезут заказ]
      en: [how much is delivery, is delivery free, when will it arrive]
    answer: {ru: "Доставка бесплатная.", en: "Delivery is free."}
  - id: payment
    title: {ru: оплату, en: payment}
    questions:
      ru: [как оплатить, можно картой, принимаете наличные]
      en: [how can i pay, do you take cards, can i pay cash]
    answer: {ru: "Картой или наличными.", en: "By card or cash."}
intents:
  - id: order_status
    examples:
      ru: [где мой заказ, статус заказа, когда придет заказ номер]
      en: [where is my order, order status, track my order]
  - id: thanks
    examples:
      ru: [спасибо, благодарю, спасибо всё понятно]
      en: [thanks, thank you, thanks a lot]
out_of_scope:
  ru: [расскажи анекдот, какая погода, кто выиграл матч]
`)},
	"flows/main.yaml": {Data: []byte(`flow: main
start: hello
nodes:
  hello:
    say: {ru: "Здравствуйте!", en: "Hello!"}
    next: menu
  menu:
    wait: true
    set:
      order: digits(text, 6, 10)
    branch:
      - if: intent == "order_status" && !out_of_scope
        goto: to_order
      - if: intent == "thanks" && !out_of_scope
        goto: thanks
      - if: faq.id != "" && !out_of_scope
        goto: answer
    else: unknown
  to_order:
    call: order
    next: menu
  answer:
    say: "{{ faq.answer }}"
    next: menu
  thanks:
    say: {ru: "Рады помочь!", en: "Glad to help!"}
    next: menu
  unknown:
    say: {ru: "Не понял.", en: "Sorry?"}
    next: menu
`)},
	"flows/order.yaml": {Data: []byte(`flow: order
start: check
nodes:
  check:
    branch:
      - if: vars.order != ""
        goto: found
    else: ask
  ask:
    ask: "Номер заказа?"
    set:
      order: digits(text, 6, 10)
    next: found
  found:
    say: "Заказ {{ vars.order }} в пути."
`)},
}

func loadSuite(t *testing.T, suite string) (*flows.Project, *flowtest.SuiteReport) {
	t.Helper()
	fsys := fstest.MapFS{"tests/suite/s.yaml": {Data: []byte(suite)}}
	for k, v := range suiteProject {
		fsys[k] = v
	}
	p, err := flows.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	files, suites, err := flowtest.LoadAll(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 0 || len(suites) != 1 {
		t.Fatalf("%d test files, %d suites; want the one suite", len(files), len(suites))
	}
	if err := flowtest.CheckSuites(p, suites); err != nil {
		t.Fatal(err)
	}
	return p, flowtest.RunSuite(context.Background(), p, suites[0], flowtest.Options{})
}

func TestSuiteOutcomes(t *testing.T) {
	_, rep := loadSuite(t, `suite: every outcome
require: {accuracy: 1, complaint_recall: 1, needless_handoffs: 0}
cases:
  - {say: "А доставка платная?", topic: delivery, expect: {faq: delivery, lang: ru}}
  - {say: "how much is delivery?", topic: delivery, expect: {faq: delivery, lang: en}}
  - {say: "где мой заказ 5550123", topic: order, expect: {flow: order, vars: {order: "5550123"}}}
  - {say: "Это отвратительный сервис, верните деньги!", topic: complaint, expect: {handoff: negative}}
  - {say: "позовите оператора", topic: human, expect: {handoff: any}}
  - {say: "спасибо, всё понятно", topic: thanks, expect: {node: main.thanks}}
  - {say: "расскажи анекдот", topic: oos, expect: {fallback: true}}
  - {say: "как оплатить картой", topic: payment, expect: {faq: payment}}
`)
	var out bytes.Buffer
	rep.Write(&out)
	if rep.Cases != 8 || rep.Right != 8 || !rep.OK() || len(rep.Failures) != 0 {
		t.Fatalf("want every case right:\n%s", out.String())
	}
	if rep.Complaints != 1 || rep.ComplaintsCaught != 1 || rep.Calm != 6 || rep.Needless != 0 {
		t.Errorf("complaints %d/%d, calm %d, needless %d", rep.ComplaintsCaught, rep.Complaints, rep.Calm, rep.Needless)
	}
	if len(rep.Topic) != 7 || rep.Topic[0].Topic != "delivery" || rep.Topic[0].Cases != 2 {
		t.Errorf("topics %+v", rep.Topic)
	}
	t.Logf("\n%s", out.String())
}

// TestSuiteFailures: each kind of wrong outcome fails its case, with the
// expected and actual outcome and the trace; figures that miss what the
// suite requires fail it.
func TestSuiteFailures(t *testing.T) {
	_, rep := loadSuite(t, `suite: wrong
require: {accuracy: 0.9, needless_handoffs: 0}
cases:
  - {say: "А доставка платная?", topic: delivery, expect: {faq: payment}}
  - {say: "А доставка платная?", topic: delivery, expect: {node: main.answer}}
  - {say: "где мой заказ", topic: order, expect: {flow: order, vars: {order: "5550123"}}}
  - {say: "позовите оператора", topic: human, expect: {fallback: true}}
  - {say: "расскажи анекдот", topic: oos, expect: {handoff: any}}
  - {say: "how much is delivery?", topic: delivery, expect: {faq: delivery, lang: ru}}
  - {say: "спасибо", topic: thanks, expect: {node: main.thanks}}
`)
	var out bytes.Buffer
	rep.Write(&out)
	s := out.String()
	if rep.Right != 1 || rep.OK() || len(rep.Failures) != 12 {
		t.Fatalf("want six cases failing in both runs:\n%s", s)
	}
	for _, want := range []string{
		`--- FAIL case tests/suite/s.yaml:4:6 [delivery] "А доставка платная?" (first message)
    want faq payment
    got  faq delivery, nodes main.hello -> main.menu -> main.answer -> main.menu
    language: ru, replies in ru
    intent: delivery`,
		`(after the greeting)
    want node main.answer
    got  faq delivery, nodes main.answer -> main.menu`,
		`want flow order, vars.order "5550123"
    got  flow order, nodes main.to_order -> order.check -> order.ask; vars.order is ""`,
		`want fallback
    got  handoff requested`,
		`(after the greeting)
    want handoff any
    got  nodes main.unknown -> main.menu, fallback`,
		`want faq delivery, replies in ru
    got  faq delivery, nodes main.answer -> main.menu; replies in "en"`,
		"    branch: main.menu: faq.id != \"\" && !out_of_scope -> main.answer",
		"needless handoffs   16.7% (1 of 6)  require <= 0.0%: MISSED",
		"accuracy            14.3% (1 of 7)  require >= 90.0%: MISSED",
		`FAIL: suite "wrong" misses what it requires`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

// TestSuiteLoadErrors: a malformed suite, and expectations naming what the
// project does not have, are errors with positions.
func TestSuiteLoadErrors(t *testing.T) {
	fsys := fstest.MapFS{"tests/bad.yaml": {Data: []byte(`suite: bad
require: {accuracy: 95, recall: 1}
cases:
  - {say: a, expect: {faq: delivery, node: main.thanks}}
  - {say: b}
  - {say: c, expect: {fallback: false}}
  - {say: d, expect: {node: thanks}}
`)}}
	_, _, err := flowtest.LoadAll(fsys)
	for _, want := range []string{
		"tests/bad.yaml:2:21: require.accuracy: want a share between 0 and 1, such as 0.95",
		`tests/bad.yaml:2:25: require.recall: unknown field "recall"`,
		"tests/bad.yaml:4:23: cases[0].expect: want exactly one outcome (handoff, flow, faq, node, fallback), found 2",
		`tests/bad.yaml:5:6: cases[1]: missing "expect"`,
		"cases[2].expect.fallback: `fallback: false` says nothing",
		`cases[3].expect.node: node "thanks": want flow.node, such as main.thanks`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("load error lacks %q:\n%v", want, err)
		}
	}

	p, err := flows.LoadFS(suiteProject)
	if err != nil {
		t.Fatal(err)
	}
	fsys = fstest.MapFS{"tests/s.yaml": {Data: []byte(`suite: refs
cases:
  - {say: a, expect: {faq: delivry}}
  - {say: b, expect: {flow: ordr}}
  - {say: c, expect: {node: main.thank}}
  - {say: d, expect: {fallback: true, lang: de}}
`)}}
	_, suites, err := flowtest.LoadAll(fsys)
	if err != nil {
		t.Fatal(err)
	}
	err = flowtest.CheckSuites(p, suites)
	for _, want := range []string{
		`tests/s.yaml:3:28: cases[0].expect.faq: no faq entry "delivry" in the project; did you mean "delivery"?`,
		`cases[1].expect.flow: no flow "ordr" in the project; did you mean "order"?`,
		`cases[2].expect.node: no node "main.thank" in the project; did you mean "main.thanks"?`,
		`cases[3].expect.lang: no language "de" in the project`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check error lacks %q:\n%v", want, err)
		}
	}
}
