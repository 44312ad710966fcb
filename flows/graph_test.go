package flows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
)

// loadGraphProject loads a frozen copy of the demo (testdata/graph): the
// graphs are pinned here, and the demo keeps changing.
func loadGraphProject(t testing.TB) *flows.Project {
	t.Helper()
	p, err := flows.LoadFS(os.DirFS(filepath.Join("testdata", "graph")))
	if err != nil {
		t.Fatalf("testdata/graph: %v", err)
	}
	return p
}

func TestGraphOrderFlow(t *testing.T) {
	p := loadGraphProject(t)
	g, ok := p.Graph("order")
	if !ok {
		t.Fatal(`Graph("order"): not found`)
	}
	want := flows.FlowGraph{
		Flow:  "order",
		Start: "take_number",
		Nodes: []flows.GraphNode{
			{ID: "take_number", Kind: "set", Label: "set"},
			{ID: "have_number", Kind: "branch", Label: "branch"},
			{ID: "ask_number", Kind: "ask", Label: "Пришлите номер заказа — 6–10 цифр, он…"},
			{ID: "lookup", Kind: "http", Label: "http"},
			{ID: "found", Kind: "branch", Label: "branch"},
			{ID: "remember", Kind: "set", Label: "set"},
			{ID: "report", Kind: "say", Label: "Заказ №{{ vars.order }}: {{…"},
			{ID: "not_found", Kind: "say", Label: "Заказ №{{ vars.order }} не нашёлся…"},
			{ID: "not_found_choice", Kind: "wait", Label: "wait"},
			{ID: "lookup_failed", Kind: "say", Label: "Извините, сейчас не получается…"},
			{ID: "failed_choice", Kind: "wait", Label: "wait"},
			{ID: "no_thanks", Kind: "say", Label: "Хорошо. Попробуйте проверить заказ…"},
			{ID: "give_up", Kind: "say", Label: "Не получается распознать номер заказа…"},
			{ID: "handoff_bad_number", Kind: "handoff", Label: "handoff"},
		},
		Edges: []flows.GraphEdge{
			{From: "take_number", To: "have_number", Label: "next"},
			{From: "have_number", To: "lookup", Label: `vars.order != ""`},
			{From: "have_number", To: "ask_number", Label: "else"},
			{From: "ask_number", To: "lookup", Label: "next"},
			{From: "ask_number", To: "give_up", Label: "on_fail"},
			{From: "lookup", To: "found", Label: "next"},
			{From: "lookup", To: "lookup_failed", Label: "on_error"},
			{From: "found", To: "remember", Label: "vars.order_found"},
			{From: "found", To: "not_found", Label: "else"},
			{From: "remember", To: "report", Label: "next"},
			{From: "not_found", To: "not_found_choice", Label: "next"},
			{From: "not_found_choice", To: "ask_number", Label: `payload == "retry"`},
			{From: "not_found_choice", To: "ask_number", Label: "else"},
			{From: "lookup_failed", To: "failed_choice", Label: "next"},
			{From: "failed_choice", To: "no_thanks", Label: `payload == "no" || norm in ["нет", "no", "нет спасибо", "no thanks"]`},
			{From: "failed_choice", To: "no_thanks", Label: "else"},
			{From: "give_up", To: "handoff_bad_number", Label: "next"},
		},
	}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("order graph (-want +got):\n%s", diff)
	}
}

// TestGraphEdgesAcrossFlows checks calls, their return, handoff resumes and
// references into other flows, and that every edge's ends exist.
func TestGraphEdgesAcrossFlows(t *testing.T) {
	p := loadGraphProject(t)
	if got, want := p.Flows(), []string{"complaint", "main", "order"}; !slices.Equal(got, want) {
		t.Fatalf("Flows() = %v, want %v", got, want)
	}
	main, _ := p.Graph("main")
	has := func(g flows.FlowGraph, e flows.GraphEdge) {
		t.Helper()
		if !slices.Contains(g.Edges, e) {
			t.Errorf("%s: no edge %+v", g.Flow, e)
		}
	}
	has(main, flows.GraphEdge{From: "check_order", To: "order.take_number", Label: "call"})
	has(main, flows.GraphEdge{From: "check_order", To: "anything_else", Label: "return"})
	has(main, flows.GraphEdge{From: "handoff_requested", To: "anything_else", Label: "after handoff"})
	has(main, flows.GraphEdge{From: "confirm_ask", To: "rephrase", Label: "else"})
	complaint, _ := p.Graph("complaint")
	has(complaint, flows.GraphEdge{From: "escalate", To: "main.anything_else", Label: "after handoff"})

	for _, name := range p.Flows() {
		g, ok := p.Graph(name)
		if !ok {
			t.Fatalf("Graph(%q): not found", name)
		}
		if ids := p.NodeIDs(name); len(g.Nodes) != len(ids) {
			t.Errorf("%s: %d graph nodes, flow has %d", name, len(g.Nodes), len(ids))
		}
		for _, e := range g.Edges {
			if !slices.Contains(p.NodeIDs(name), e.From) {
				t.Errorf("%s: edge from unknown node %+v", name, e)
			}
			to := e.To
			target := name
			if f, n, ok := strings.Cut(e.To, "."); ok {
				target, to = f, n
			}
			if !slices.Contains(p.NodeIDs(target), to) {
				t.Errorf("%s: edge to unknown node %+v", name, e)
			}
		}
		for _, n := range g.Nodes {
			if n.Label == "" || len([]rune(n.Label)) > 40 {
				t.Errorf("%s.%s: label %q: want 1 to 40 runes", name, n.ID, n.Label)
			}
		}
	}
	if _, ok := p.Graph("nope"); ok {
		t.Error(`Graph("nope"): found an unknown flow`)
	}
}

// TestGraphJSON pins the field names the dashboard reads.
func TestGraphJSON(t *testing.T) {
	p := loadGraphProject(t)
	g, _ := p.Graph("complaint")
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"flow":"complaint","start":"listen","nodes":[{"id":"listen","kind":"ask","label":"Мне очень жаль, что так вышло…"},{"id":"described","kind":"set","label":"set"},{"id":"sorry","kind":"say","label":"Мне очень жаль, что так вышло."},{"id":"escalate","kind":"handoff","label":"handoff"}],"edges":[{"from":"listen","to":"escalate","label":"next"},{"from":"described","to":"sorry","label":"next"},{"from":"sorry","to":"escalate","label":"next"},{"from":"escalate","to":"main.anything_else","label":"after handoff"}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

// TestGraphEveryEdgeKind covers the ways out the demo does not use.
func TestGraphEveryEdgeKind(t *testing.T) {
	p, err := flows.Compile(flows.Source{
		"parley.yaml": []byte("name: g\nstart: main\n"),
		"flows/main.yaml": []byte(`flow: main
start: ask
nodes:
  ask:
    ask: "Ваш город?"
    validate: len(text) > 1
    max_retries: 1
    on_fail: jump
    timeout: 10m
    on_timeout: other.bye
    next: jump
  jump:
    goto: sub
  sub:
    call: other
`),
		"flows/other.yaml": []byte(`flow: other
start: bye
nodes:
  bye:
    say: "Пока"
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := p.Graph("main")
	want := []flows.GraphEdge{
		{From: "ask", To: "jump", Label: "next"},
		{From: "ask", To: "jump", Label: "on_fail"},
		{From: "ask", To: "other.bye", Label: "on_timeout"},
		{From: "jump", To: "sub", Label: "goto"},
		{From: "sub", To: "other.bye", Label: "call"},
	}
	if diff := cmp.Diff(want, g.Edges); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	other, _ := p.Graph("other")
	if diff := cmp.Diff(flows.FlowGraph{Flow: "other", Start: "bye", Nodes: []flows.GraphNode{{ID: "bye", Kind: "say", Label: "Пока"}}, Edges: []flows.GraphEdge{}}, other); diff != "" {
		t.Errorf("other (-want +got):\n%s", diff)
	}
}
