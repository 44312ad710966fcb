package flows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
)

// TestDebugOutput: a turn with Debug ends with one Debug output carrying
// the trace, readable as JSON; a turn without has none.
func TestDebugOutput(t *testing.T) {
	p, err := flows.Compile(flows.Source{
		"parley.yaml": []byte("name: d\nstart: main\nescalation: {negative: \"off\", requested: \"off\"}\n"),
		"flows/main.yaml": []byte(`flow: main
start: menu
nodes:
  menu:
    wait: true
    branch:
      - if: digits(text, 6, 10) != ""
        goto: found
    else: menu
  found:
    say: "Заказ {{ digits(text, 6, 10) }}"
    next: menu
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(flows.Options{})
	in := flows.Input{Text: "где мой заказ 5550123?", Debug: true}
	_, out, err := e.Step(context.Background(), flows.State{}, in)
	if err != nil {
		t.Fatal(err)
	}
	last := out[len(out)-1]
	if last.Kind != flows.Debug || last.Trace == nil {
		t.Fatalf("last output %+v, want the trace", last)
	}
	for _, o := range out[:len(out)-1] {
		if o.Kind == flows.Debug {
			t.Fatalf("more than one Debug output: %+v", out)
		}
	}
	tr := last.Trace
	if len(tr.Branches) != 1 || tr.Branches[0].If != `digits(text, 6, 10) != ""` || tr.Branches[0].Goto != "main.found" {
		t.Errorf("branches %+v", tr.Branches)
	}
	if strings.Join(tr.Nodes, " ") != "main.menu main.found main.menu" {
		t.Errorf("nodes %v", tr.Nodes)
	}
	b, err := json.Marshal(last)
	if err != nil || !strings.Contains(string(b), `"type":"debug","trace":{`) || !strings.Contains(string(b), `"branches":[{"node":"main.menu"`) {
		t.Errorf("JSON %s, %v", b, err)
	}
	var back flows.Output
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != flows.Debug || back.Trace == nil {
		t.Errorf("round trip: %+v, %v", back, err)
	}

	// Without a knowledge base and with no expression reading them, the
	// trace still shows sentiment and a request for a person.
	_, out, _ = e.Step(context.Background(), flows.State{}, flows.Input{Text: "позовите оператора", Debug: true})
	if tr := out[len(out)-1].Trace; tr == nil || !tr.HumanRequested || len(tr.HumanEvidence) == 0 {
		t.Errorf("trace of a request for a person: %+v", tr)
	}

	in.Debug = false
	_, out, _ = e.Step(context.Background(), flows.State{}, in)
	for _, o := range out {
		if o.Kind == flows.Debug || o.Trace != nil {
			t.Fatalf("a turn without Debug has a trace: %+v", o)
		}
	}
}

// TestFirstMessageLanguage: a short first message decides the language of
// a new conversation only when the channel reports none for the contact.
func TestFirstMessageLanguage(t *testing.T) {
	p, err := flows.Compile(flows.Source{
		"parley.yaml": []byte("name: l\ndefault_lang: ru\nlanguages: [ru, en]\nstart: main\n"),
		"flows/main.yaml": []byte(`flow: main
start: listen
nodes:
  listen:
    wait: true
    next: echo
  echo:
    say: {ru: "ру", en: "en"}
    next: listen
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := p.NewEngine(flows.Options{})
	for _, tc := range []struct{ text, contact, want string }{
		{"hey", "", "en"},
		{"hey", "ru", "ru"},
		{"ok", "ru-RU", "ru"},
		{"ку", "en", "ru"}, // typed in Cyrillic: a Russian speaker, whatever the channel says
		{"hello there", "ru", "en"},
		{"/start", "", ""}, // answered in the default, ru, which is not kept
		{"42", "", ""},
	} {
		st, _, err := e.Step(context.Background(), flows.State{}, flows.Input{Text: tc.text, Contact: flows.Contact{Lang: tc.contact}})
		if err != nil || st.Lang != tc.want {
			t.Errorf("first message %q, contact language %q: conversation in %q (%v), want %q", tc.text, tc.contact, st.Lang, err, tc.want)
		}
	}
}
