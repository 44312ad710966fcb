package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

const triggerProject = "name: t\ndefault_lang: ru\nlanguages: [ru]\nstart: main\n"

const triggerMain = `flow: main
start: menu
nodes:
  menu:
    ask: "Чем помочь?"
    next: menu
`

const triggerShipped = `flow: shipped
start: tell
params: [order]
nodes:
  tell:
    say: "Заказ {{ params.order }} отправлен."
    next: rate
  rate:
    ask: "Подсказать срок?"
    buttons:
      - {text: "Да", value: "yes"}
    next: eta
  eta:
    say: "Заказ {{ params.order }} приедет завтра."
    next: done
  done:
    end: true
`

// A conversation test starts a flow as the outbound API does and checks
// that the customer's answer continues it with its params.
func TestTriggerTurn(t *testing.T) {
	for name, tc := range map[string]struct {
		tests string
		fail  string
	}{
		"passes": {tests: `tests:
  - name: shipped
    turns:
      - trigger: {flow: shipped, params: {order: A-17}}
        bot:
          - text: "Заказ A-17 отправлен."
          - text: "Подсказать срок?"
      - tap: Да
        bot:
          - text: "Заказ A-17 приедет завтра."
        end: true
`},
		"fails on a wrong text": {tests: `tests:
  - name: shipped
    turns:
      - trigger: {flow: shipped, params: {order: B}}
        bot:
          - text: "Заказ A-17 отправлен."
`, fail: "Заказ B отправлен."},
		"fails on an unknown flow": {tests: `tests:
  - name: shipped
    turns:
      - trigger: {flow: shiped}
`, fail: "unknown flow"},
	} {
		t.Run(name, func(t *testing.T) {
			fs := fstest.MapFS{
				"parley.yaml":        {Data: []byte(triggerProject)},
				"flows/main.yaml":    {Data: []byte(triggerMain)},
				"flows/shipped.yaml": {Data: []byte(triggerShipped)},
				"tests/shipped.yaml": {Data: []byte(tc.tests)},
			}
			p, err := flows.LoadFS(fs)
			if err != nil {
				t.Fatal(err)
			}
			files, err := flowtest.Load(fs)
			if err != nil {
				t.Fatal(err)
			}
			rep := flowtest.Run(context.Background(), p, files, flowtest.Options{})
			var failures []string
			for _, r := range rep.Results {
				if r.Failed {
					failures = append(failures, r.Failure)
				}
			}
			got := strings.Join(failures, "\n")
			if tc.fail == "" && got != "" || tc.fail != "" && !strings.Contains(got, tc.fail) {
				t.Fatalf("failures %q; want %q", got, tc.fail)
			}
		})
	}
}
