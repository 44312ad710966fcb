package flowtest_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/flows/flowtest"
)

// A project with working hours, a question that times out, an http node
// that POSTs with headers, and a name the flow remembers.
const clockProject = `name: clock
start: main
timezone: Europe/Moscow
settings: {api: "https://api.example.com"}
allowed_hosts: [api.example.com]
escalation: {negative: "off", requested: "off"}
`

const clockFlow = `flow: main
start: hours
nodes:
  hours:
    branch:
      - if: now.Hour() >= 9 && now.Hour() < 21
        goto: ask_name
    else: closed
  closed:
    say: "Мы работаем с 9 до 21, сейчас {{ now.Hour() }}:{{ now.Minute() }}."
  ask_name:
    ask: "Как вас зовут?"
    timeout: 10m
    on_timeout: hurry
    set:
      contact.name: trim(text)
      contact.address: '"Тверская, 1"'
    next: greet
  hurry:
    ask: "Вы здесь? Напишите имя."
    timeout: 5m
    on_timeout: gone
    set:
      contact.name: trim(text)
    next: greet
  gone:
    handoff: {reason: silent, note: "Клиент молчит"}
  greet:
    say: "Приятно познакомиться, {{ contact.name }}! Адрес: {{ contact.address }}."
    next: send
  send:
    http:
      method: POST
      url: "{{ settings.api }}/greet"
      headers: {X-Customer: "{{ contact.name }}"}
      body: {name: "{{ contact.name }}", n: 2}
    on_error: failed
    next: done
  failed:
    say: "Не вышло."
  done:
    say: "Готово."
`

func runClock(t *testing.T, tests string) []flowtest.Result {
	t.Helper()
	return runProject(t, clockProject, clockFlow, tests)
}

// TestClockSilenceContactAndRequest: a test's clock, a turn's clock, a
// silence that fires a timeout (twice: the timeout path waits again), the
// contact as the runtime keeps it, and the request an http node sends.
func TestClockSilenceContactAndRequest(t *testing.T) {
	res := runClock(t, `tests:
  - name: at night
    now: 2026-12-07T22:30:00+03:00
    turns:
      - user: привет
        bot: ["Мы работаем с 9 до 21, сейчас 22:30."]
      - user: привет
        now: 2026-12-08T08:59:00+03:00
        bot: ["Мы работаем с 9 до 21, сейчас 8:59."]
  - name: silent customer
    now: "2026-12-07T12:00:00+03:00"
    turns:
      - user: привет
        bot: ["Как вас зовут?"]
      - silence: 9m
        bot: []
      - silence: 1m
        bot: ["Вы здесь? Напишите имя."]
      - silence: 30m
        bot: []
        handoff: silent
  - name: remembers the name
    http:
      - url: https://api.example.com/greet
        method: POST
        request:
          headers: {x-customer: Анна}
          body: {n: 2, name: Анна}
    turns:
      - user: привет
      - user: " Анна "
        bot:
          - "Приятно познакомиться, Анна! Адрес: Тверская, 1."
          - "Готово."
        contact: {name: Анна, address: "Тверская, 1", lang: ""}
`)
	for _, r := range res {
		if r.Failed {
			t.Errorf("%s: %s", r.Name, r.Failure)
		}
	}
	if len(res) != 3 {
		t.Fatalf("want 3 results, got %d", len(res))
	}
}

func TestClockFailures(t *testing.T) {
	for _, tc := range []struct{ name, test, want string }{
		{"request body", `
    http:
      - url: https://api.example.com/greet
        request: {body: {name: Борис, n: 2}}
    turns:
      - user: привет
      - user: Анна`, `turn 2 (user "Анна"): http POST https://api.example.com/greet: body: want {"n":2,"name":"Борис"}, got {"n":2,"name":"Анна"}`},
		{"request header", `
    http:
      - url: https://api.example.com/greet
        request: {headers: {X-Token: abc}}
    turns:
      - user: привет
      - user: Анна`, `header X-Token: want "abc", not sent`},
		{"method", `
    http:
      - {url: https://api.example.com/greet, method: GET}
    turns:
      - user: привет
      - user: Анна
        bot: ["Приятно познакомиться, Анна! Адрес: Тверская, 1.", "Не вышло."]`, `canned http response GET https://api.example.com/greet was never requested`},
		{"contact", `
    http:
      - url: https://api.example.com/greet
    turns:
      - user: привет
      - user: Анна
        contact: {name: Борис}`, `contact.name: want "Борис", got "Анна"`},
		{"unexpected handoff shows the messages and the handoff", `
    turns:
      - user: привет
      - silence: 20m`, `turn 2 (silence 20m): unexpected handoff (reason silent); add ` + "`handoff: silent`" + ` to the turn if it is right (- want, + got):` + "\n" +
			`      "Вы здесь? Напишите имя."` + "\n" +
			`    + handoff silent (priority normal) note "Клиент молчит"`},
		{"wrong handoff reason shows both", `
    turns:
      - user: привет
      - silence: 20m
        handoff: {reason: complaint, priority: high}`, `handoff reason: want "complaint", got "silent" (- want, + got):` + "\n" +
			`      "Вы здесь? Напишите имя."` + "\n" +
			`    - handoff complaint (priority high)` + "\n" +
			`    + handoff silent (priority normal) note "Клиент молчит"`},
		{"missing handoff", `
    turns:
      - user: привет
        bot: ["Как вас зовут?"]
        handoff: silent`, `want a handoff (reason silent), got none (- want, + got):` + "\n" +
			`      "Как вас зовут?"` + "\n" +
			`    - handoff silent`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runClock(t, "tests:\n  - name: x\n    now: 2026-12-07T12:00:00+03:00"+tc.test+"\n")
			if len(res) != 1 || !res[0].Failed {
				t.Fatalf("want a failure, got %+v", res)
			}
			if !strings.Contains(res[0].Failure, tc.want) {
				t.Fatalf("failure:\n%s\nwant it to contain:\n%s", res[0].Failure, tc.want)
			}
		})
	}
}

func TestClockLoadErrors(t *testing.T) {
	_, err := flowtest.Load(fstest.MapFS{"tests/bad.yaml": {Data: []byte(`tests:
  - name: x
    now: tomorrow
    turns:
      - silence: soon
      - user: hi
        silence: 5m
      - silence: 5m
        now: 2026-12-07T12:00:00Z
      - {}
`)}})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`tests/bad.yaml:3:10: tests[0].now: want a time such as 2026-12-07T22:30:00+03:00, found "tomorrow"`,
		`tests/bad.yaml:5:18: tests[0].turns[0].silence: want a duration such as 10m or 2h, found "soon"`,
		"tests/bad.yaml:7:9: tests[0].turns[1]: a turn is one of `user: TEXT`, `tap: BUTTON`, `silence: DURATION`, `photo: NAME`, `file: NAME` or `trigger: {flow: F}`, found user and silence",
		"tests/bad.yaml:9:9: tests[0].turns[2]: a silence lasts from the previous turn: it takes no `now`",
		"tests/bad.yaml:10:9: tests[0].turns[3]: a turn needs `user: TEXT`, `tap: BUTTON`, `silence: DURATION`, `photo: NAME`, `file: NAME` or `trigger: {flow: F}`",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %s\nin:\n%v", want, err)
		}
	}
}
