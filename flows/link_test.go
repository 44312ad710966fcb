package flows_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows"
)

func TestGraphShowsLinkNode(t *testing.T) {
	p := loadGraphProject(t)
	g, _ := p.Graph("main")
	var node flows.GraphNode
	for _, n := range g.Nodes {
		if n.ID == "offer_link" {
			node = n
		}
	}
	if diff := cmp.Diff(flows.GraphNode{ID: "offer_link", Kind: "link", Label: "Ваш код для связи: {{ code }}…"}, node); diff != "" {
		t.Errorf("graph node (-want +got):\n%s", diff)
	}
	var edges []flows.GraphEdge
	for _, e := range g.Edges {
		if e.From == "offer_link" || e.To == "offer_link" {
			edges = append(edges, e)
		}
	}
	want := []flows.GraphEdge{
		{From: "menu", To: "offer_link", Label: `payload == "link_chat"`},
		{From: "menu", To: "offer_link", Label: `intent == "link" && intent_score >= 0.5 && !out_of_scope`},
		{From: "offer_link", To: "menu", Label: "next"},
	}
	if diff := cmp.Diff(want, edges); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
}

// TestLinkCodeOutputRoundTrip: outputs travel as JSON (the web console,
// `parley chat --json`), so a LinkCode output must come back the same and
// fill the same.
func TestLinkCodeOutputRoundTrip(t *testing.T) {
	p := loadDemo(t)
	e := p.NewEngine(flows.Options{})
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	in := flows.Input{Text: "привет", Channel: "web", Now: now}
	st, _, err := e.Step(context.Background(), flows.State{}, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Text, in.Payload = "Доставка", "delivery"
	st, _, err = e.Step(context.Background(), st, in)
	if err != nil {
		t.Fatal(err)
	}
	in.Text, in.Payload = "Связать с другим чатом", "link_chat"
	st, outs, err := e.Step(context.Background(), st, in)
	if err != nil {
		t.Fatal(err)
	}
	var link *flows.Output
	for i := range outs {
		if outs[i].Kind == flows.LinkCode {
			link = &outs[i]
		}
	}
	if link == nil || link.Link == nil || link.Text != "" {
		t.Fatalf("want one LinkCode output with a request and no text yet, got %+v", outs)
	}
	if !st.Waiting || st.Node != "menu" || len(st.Buttons) != 0 {
		t.Errorf("after the link node the menu waits with no buttons to number: %+v", st)
	}
	b, err := json.Marshal(link)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"type":"link"`) || !strings.Contains(string(b), `{"slot":"code"}`) {
		t.Errorf("JSON %s", b)
	}
	var back flows.Output
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*link, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	got := back.Link.Fill("7KQM-4T9X", 10*time.Minute, now.Add(10*time.Minute))
	if !strings.HasPrefix(got, "Ваш код для связи: 7KQM-4T9X\n") || !strings.Contains(got, "до 12:10 по Москве") {
		t.Errorf("filled: %q", got)
	}
}

func TestDefaultLinkRequest(t *testing.T) {
	for _, tc := range []struct{ lang, prefix string }{
		{"ru", "Ваш код для связи: AB23-CD45\nОтправьте его нам из другого канала (Telegram, VK или чат на сайте) в течение 10 мин."},
		{"en", "Your link code: AB23-CD45\nSend it to us from your other channel (Telegram, VK or the chat on the website) within 10 min,"},
		{"de", "Your link code: AB23-CD45"},
	} {
		got := flows.DefaultLinkRequest(tc.lang).Fill("AB23-CD45", 10*time.Minute, time.Time{})
		if !strings.HasPrefix(got, tc.prefix) {
			t.Errorf("%s: %q", tc.lang, got)
		}
	}
	// Under a minute still says 1 minute.
	if got := flows.DefaultLinkRequest("en").Fill("X", 20*time.Second, time.Time{}); !strings.Contains(got, "within 1 min") {
		t.Errorf("short TTL: %q", got)
	}
}
