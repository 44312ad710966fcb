package flows_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows"
)

const agentVarsFlow = `flow: main
start: ask
nodes:
  ask:
    ask: "Номер заказа?"
    save: order
    next: work
  work:
    set:
      vars.attempts: 1
      vars.order_status: '"в пути"'
    next: human
  human:
    handoff: {reason: requested}
`

// The project's vars: names the variables agents see, with labels: a
// helper variable stays out of the handoff (so out of the ticket and its
// summary); a label without a language gets the default language's.
func TestAgentVars(t *testing.T) {
	p := compile(t, map[string]string{"parley.yaml": `name: v
languages: [ru, en]
default_lang: ru
start: main
vars:
  order: {ru: Номер заказа, en: Order number}
  order_status: {ru: Статус}
`, "flows/main.yaml": agentVarsFlow})
	labels, ok := p.AgentVars()
	want := map[string]map[string]string{
		"order":        {"ru": "Номер заказа", "en": "Order number"},
		"order_status": {"ru": "Статус", "en": "Статус"},
	}
	if !ok || !reflect.DeepEqual(labels, want) {
		t.Errorf("AgentVars() = %v, %v; want %v", labels, ok, want)
	}
	e := p.NewEngine(flows.Options{})
	ctx := context.Background()
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	st, _, err := e.Step(ctx, flows.State{}, flows.Input{Text: "привет", Channel: "web", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	_, outs, err := e.Step(ctx, st, flows.Input{Text: "1234567", Channel: "web", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h := findHandoff(outs)
	if h == nil {
		t.Fatalf("no handoff in %+v", outs)
	}
	if want := map[string]string{"order": "1234567", "order_status": "в пути"}; !reflect.DeepEqual(h.Vars, want) {
		t.Errorf("handoff vars = %v, want %v (attempts is a helper)", h.Vars, want)
	}

	// Without the section agents see every variable.
	all := compile(t, map[string]string{"parley.yaml": "name: v\nstart: main\n", "flows/main.yaml": agentVarsFlow})
	if _, ok := all.AgentVars(); ok {
		t.Error("a project without vars: reports labels")
	}
	e = all.NewEngine(flows.Options{})
	st, _, _ = e.Step(ctx, flows.State{}, flows.Input{Text: "привет", Channel: "web", Now: now})
	_, outs, _ = e.Step(ctx, st, flows.Input{Text: "1234567", Channel: "web", Now: now})
	if h := findHandoff(outs); h == nil || len(h.Vars) != 3 {
		t.Errorf("without vars: the handoff = %+v, want all three variables", h)
	}
}

// A name no flow sets gets "did you mean" at its line; a label in a
// language the project does not speak is an error too.
func TestAgentVarsErrors(t *testing.T) {
	_, err := flows.Compile(flows.Source{"parley.yaml": []byte(`name: v
languages: [ru]
start: main
vars:
  ordr: Номер заказа
  order: {de: Bestellung}
`), "flows/main.yaml": []byte(agentVarsFlow)})
	var el flows.ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("err = %v, want an error list", err)
	}
	got := err.Error()
	for _, want := range []string{
		`parley.yaml:5:3: vars.ordr: unknown variable "ordr": no flow sets it; did you mean "order"?`,
		`parley.yaml:6:15: vars.order.de: language "de" is not in the project's languages [ru]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors:\n%s\nwant a line %q", got, want)
		}
	}
}
