package flows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parley-chat/parley/flows"
)

const triggerMain = `flow: main
start: menu
nodes:
  menu:
    ask: "Чем помочь?"
    buttons:
      - {text: "Доставка", value: delivery}
    next: menu
`

const triggerShipped = `flow: shipped
start: tell
params: [order, total]
nodes:
  tell:
    say: "Заказ {{ params.order }} на {{ params.total }} ₽ отправлен."
    next: rate
  rate:
    ask: "Всё понятно?"
    buttons:
      - {text: "Да", value: "yes"}
      - {text: "Нет", value: "no"}
    next: thanks
  thanks:
    branch:
      - if: payload == "yes" && params.total > 1000
        goto: big
    else: small
  big:
    say: "Спасибо! Заказ {{ params.order }} в пути."
    next: done
  small:
    say: "Понятно."
    next: done
  done:
    end: true
`

func loadTrigger(t *testing.T, files map[string]string) (*flows.Project, error) {
	t.Helper()
	fs := fstest.MapFS{"parley.yaml": {Data: []byte("name: t\ndefault_lang: ru\nlanguages: [ru]\nstart: main\n")}}
	for name, src := range files {
		fs[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return flows.LoadFS(fs)
}

// A trigger starts its flow as a new conversation with its params, which
// the customer's answers later still read (the session keeps them, also
// through its JSON form).
func TestTriggerStartsFlowWithParams(t *testing.T) {
	p, err := loadTrigger(t, map[string]string{"flows/main.yaml": triggerMain, "flows/shipped.yaml": triggerShipped})
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(flows.Options{})
	ctx := context.Background()
	if !e.HasFlow("shipped") || e.HasFlow("nope") {
		t.Fatal("HasFlow disagrees with the project")
	}
	// The customer was at the menu of another conversation, with a variable.
	st := flows.State{Flow: "main", Node: "menu", Waiting: true, Vars: map[string]any{"old": "x"}, Lang: "ru"}
	st, out, err := e.Step(ctx, st, flows.Input{Trigger: &flows.Trigger{Flow: "shipped",
		Params: map[string]any{"order": "A-17", "total": 2500.0}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sayTexts(out), " | "); got != "Заказ A-17 на 2500 ₽ отправлен. | Всё понятно?" {
		t.Fatalf("trigger said %q", got)
	}
	if st.Flow != "shipped" || !st.Waiting || st.Vars["old"] != nil {
		t.Fatalf("state after trigger = %+v; want waiting in shipped, old vars dropped", st)
	}
	triggered := false
	for _, o := range out {
		if o.Kind == flows.Event && o.Event.Name == "triggered" && o.Event.Data["flow"] == "shipped" {
			triggered = true
		}
	}
	if !triggered {
		t.Fatalf("no triggered event in %+v", out)
	}
	data, err := flows.MarshalState(st)
	if err != nil {
		t.Fatal(err)
	}
	if st, err = flows.UnmarshalState(data); err != nil {
		t.Fatal(err)
	}
	st, out, err = e.Step(ctx, st, flows.Input{Text: "Да", Payload: "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sayTexts(out), " | "); got != "Спасибо! Заказ A-17 в пути." {
		t.Fatalf("answer said %q", got)
	}
	if !st.Ended {
		t.Fatalf("flow did not end: %+v", st)
	}
	// The next conversation starts without the trigger's params.
	st, _, _ = e.Step(ctx, st, flows.Input{Text: "привет"})
	if st.Params != nil {
		t.Fatalf("params outlived their conversation: %+v", st.Params)
	}
	if _, _, err := e.Step(ctx, st, flows.Input{Trigger: &flows.Trigger{Flow: "nope"}}); !errors.Is(err, flows.ErrUnknownFlow) {
		t.Fatalf("unknown flow = %v, want ErrUnknownFlow", err)
	}
}

// params.X is checked like vars.X: reading a param no flow declares is a
// load error with the closest declared one.
func TestTriggerParamsAreDeclared(t *testing.T) {
	bad := strings.Replace(triggerShipped, "{{ params.order }} на", "{{ params.ordr }} на", 1)
	_, err := loadTrigger(t, map[string]string{"flows/main.yaml": triggerMain, "flows/shipped.yaml": bad})
	if err == nil || !strings.Contains(err.Error(), "params.ordr is not declared in any flow's params") ||
		!strings.Contains(err.Error(), "order") {
		t.Fatalf("load = %v; want params.ordr reported", err)
	}
}
