package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

const project = `name: t
start: main
settings: {api: "https://api.example.com"}
allowed_hosts: [api.example.com]
escalation: {negative: "off", requested: "off"}
`

const mainFlow = `flow: main
start: hello
nodes:
  hello:
    say: "Привет!"
    buttons: [{text: Заказ, value: order}, {text: Человек, value: human}]
    next: menu
  menu:
    wait: true
    branch:
      - if: payload == "order"
        goto: lookup
      - if: payload == "human"
        goto: human
    retry: "Выберите кнопку."
  lookup:
    http:
      url: "{{ settings.api }}/orders/1"
      save: {status: response.body.status}
    on_error: failed
    next: report
  report:
    say: "Статус: {{ vars.status }}"
    next: bye
  failed:
    say: "Не вышло."
    next: bye
  human:
    handoff: {reason: requested}
    next: hello
  bye:
    end: true
`

// run runs one test file against the small project and returns its results.
func run(t *testing.T, tests string) []flowtest.Result {
	t.Helper()
	return runProject(t, project, mainFlow, tests)
}

// runProject runs one test file against a project of one flow.
func runProject(t *testing.T, project, flow, tests string) []flowtest.Result {
	t.Helper()
	fsys := fstest.MapFS{
		"parley.yaml":     {Data: []byte(project)},
		"flows/main.yaml": {Data: []byte(flow)},
		"tests/t.yaml":    {Data: []byte(tests)},
	}
	p, err := flows.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	files, err := flowtest.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return flowtest.Run(context.Background(), p, files, flowtest.Options{}).Results
}

func TestPassingTest(t *testing.T) {
	res := run(t, `tests:
  - name: ok
    http:
      - {url: "https://api.example.com/orders/1", body: {status: в пути}}
    turns:
      - user: /start
        bot: [{text: "Привет!", buttons: [Заказ, Человек]}]
      - tap: Заказ
        bot: ["Статус: в пути"]
        vars: {status: в пути}
        end: true
`)
	if len(res) != 1 || res[0].Failed {
		t.Fatalf("want a pass, got %+v", res)
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct{ name, turns, http, want string }{
		{"wrong text", `
      - user: hi
        bot: ["Здравствуйте!"]`, "",
			`tests/t.yaml:5:15: turn 1 (user "hi"): bot messages differ (- want, + got):
    - "Здравствуйте!"
    + "Привет!" ["Заказ", "Человек"]`},
		{"missing button", `
      - user: hi
      - tap: Оплата`, "", `turn 2: no button "Оплата" in the last message; buttons: "Заказ", "Человек"`},
		{"unexpected handoff", `
      - user: hi
      - tap: Человек`, "", `turn 2 (tap "Человек"): unexpected handoff (reason requested)`},
		{"handoff reason", `
      - user: hi
      - tap: Человек
        handoff: negative`, "", `handoff reason: want "negative", got "requested"`},
		{"variable", `
      - user: hi
      - tap: Заказ
        vars: {status: доставлен}`, `{url: "https://api.example.com/orders/1", body: {status: в пути}}`,
			`variable status: want "доставлен", got "в пути"`},
		{"end", `
      - user: hi
        end: true`, "", `want the conversation to end, it goes on`},
		{"unused canned", `
      - user: hi`, `{url: "https://api.example.com/orders/2"}`, `canned http response https://api.example.com/orders/2 was never requested`},
		{"unused canned with its method", `
      - user: hi`, `{url: "https://api.example.com/orders/2", method: post}`, `canned http response POST https://api.example.com/orders/2 was never requested`},
		{"unexpected call", `
      - user: hi
      - tap: Заказ
        bot: ["Не вышло."]`, "", `unexpected http call GET https://api.example.com/orders/1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "tests:\n  - name: x\n"
			if tc.http != "" {
				src += "    http:\n      - " + tc.http + "\n"
			}
			src += "    turns:" + tc.turns + "\n"
			res := run(t, src)
			if len(res) != 1 || !res[0].Failed {
				t.Fatalf("want a failure, got %+v", res)
			}
			if !strings.Contains(res[0].Failure, tc.want) {
				t.Fatalf("failure:\n%s\nwant it to contain:\n%s", res[0].Failure, tc.want)
			}
		})
	}
}

// TestDiffKeepsMatchingMessages: a message that matches is shown once,
// unchanged, also when only the bot's side has buttons; the failing turn
// shows what the bot understood.
func TestDiffKeepsMatchingMessages(t *testing.T) {
	res := run(t, `tests:
  - name: x
    turns:
      - user: /start
        bot: ["Привет!", "Пока!"]
`)
	if len(res) != 1 || !res[0].Failed {
		t.Fatalf("want a failure, got %+v", res)
	}
	want := "bot messages differ (- want, + got):\n" +
		"      \"Привет!\" [\"Заказ\", \"Человек\"]\n" +
		"    - \"Пока!\"\n" +
		"what the bot understood:\n" +
		"  language: unsure, replies in ru"
	if !strings.Contains(res[0].Failure, want) {
		t.Fatalf("failure:\n%s\nwant it to contain:\n%s", res[0].Failure, want)
	}
}

func TestLoadReportsPositions(t *testing.T) {
	_, err := flowtest.Load(fstest.MapFS{"tests/bad.yaml": {Data: []byte("tests:\n  - name: x\n    turns:\n      - user: hi\n        bot: [{txt: a}]\n")}})
	if err == nil || !strings.Contains(err.Error(), `tests/bad.yaml:5:16: tests[0].turns[0].bot[0].txt: unknown field "txt"; did you mean "text"?`) {
		t.Fatalf("got %v", err)
	}
}
