package handoff

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// The scripted day of issue 17 with the agent's side played for real:
// tickets opened by Escalate, claimed, answered and resolved with CSAT
// through the console API by anna, the ratings routed by Route, on a clock
// that runs through Monday 2026-11-23 with business hours 11:00–18:00. The
// runtime's events (customer messages, nodes entered, the handoff request,
// end nodes) are written as bot/turn.go writes them, since handoff cannot
// run the runtime. At 17:00 the lead's /api/stats must show the figures
// worked out here by hand.
//
//	10:00 v7 hello; 10:05 asks for a person (before hours): claimed 11:02, answered 11:05, resolved 11:15, rated 4
//	10:10, 10:20, 10:30, 10:40 v1–v4 answered by the bot to the end of the flow
//	12:00 v5 hello; 12:01 asks for a person: claimed 12:02, answered 12:04, resolved 12:20, rated 5
//	13:00 v6 types "operator" at once: claimed 13:06, answered 13:10, resolved 13:30, rated 3
//	14:00 v8 hello; 14:01 an angry message, handed off (negative): nobody has claimed it yet
//	15:00 v9 asked for an order number, gone; 16:00 v10 not understood, gone
func TestScriptedDayThroughConsole(t *testing.T) {
	hours, err := ParseHours("UTC", []string{"mon-fri 11:00-18:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{CSAT: true, Hours: hours})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	e.svc.SetFlowGraphs(scriptGraphs{})
	ctx := context.Background()
	day := func(clock string) time.Time {
		c, _ := time.Parse("15:04", clock)
		return time.Date(2026, 11, 23, c.Hour(), c.Minute(), 0, 0, time.UTC)
	}
	until := func(clock string) {
		t.Helper()
		d := day(clock).Sub(e.clock.Now())
		if d < 0 {
			t.Fatalf("the clock is past %s", clock)
		}
		e.clock.Advance(d)
	}
	// log writes the runtime's events of one turn at the clock's time.
	log := func(c store.Contact, evs ...store.Event) {
		t.Helper()
		for i := range evs {
			evs[i].At, evs[i].ContactID = e.clock.Now(), c.ID
		}
		if err := e.db.AppendEvents(ctx, evs...); err != nil {
			t.Fatal(err)
		}
	}
	in := store.Event{Type: "message_in", Data: map[string]string{"channel": "web", "lang": "en"}}
	out := store.Event{Type: "message_out", Data: map[string]string{"channel": "web", "sender": "bot"}}
	node := func(ref string) store.Event {
		f, n, _ := strings.Cut(ref, ".")
		return store.Event{Type: "node", Flow: f, Node: n}
	}
	asked := func(reason string) store.Event {
		return store.Event{Type: "handoff_requested", Data: map[string]string{"reason": reason, "priority": "normal"}}
	}
	v := map[int]store.Contact{}
	for i := 1; i <= 10; i++ {
		v[i] = e.contact(fmt.Sprintf("web:v%d", i), "", "en")
	}
	anna := newClient(t, srv)
	ticketOp := func(op string, id uint64, body any) {
		t.Helper()
		anna.call("POST", fmt.Sprintf("/api/tickets/%d/%s", id, op), body, 200, nil)
	}
	// agentDay: anna claims, answers and resolves with the CSAT question;
	// the customer's rating is routed as the runtime routes it.
	agentDay := func(c store.Contact, tk store.Ticket, claim, reply, resolve, rate string, score string) {
		t.Helper()
		until(claim)
		ticketOp("claim", tk.ID, nil)
		until(reply)
		ticketOp("reply", tk.ID, map[string]string{"text": "Hello, I am on it."})
		until(resolve)
		ticketOp("resolve", tk.ID, map[string]string{"outcome": "csat"})
		until(rate)
		log(c, in)
		if d := e.route(c, score, ""); d.Owner != OwnerCSAT {
			t.Fatalf("rating %s routed to %s", score, d.Owner)
		}
	}

	log(v[7], in, node("main.hello"), node("main.menu"), out)
	until("10:05")
	log(v[7], in, node("main.to_human"), node("main.handoff_requested"), asked("requested"))
	t7, _ := e.escalate(v[7], "requested", "normal")
	for i, clock := range []string{"10:10", "10:20", "10:30", "10:40"} {
		c := v[i+1]
		until(clock)
		log(c, in, node("main.hello"), node("main.menu"), out)
		e.clock.Advance(time.Minute)
		log(c, in, node("main.answer"), node("main.bye"), out, store.Event{Type: "conversation_end"})
	}
	until("11:00")
	anna.login("anna")
	agentDay(v[7], t7, "11:02", "11:05", "11:15", "11:16", "4")

	until("12:00")
	log(v[5], in, node("main.hello"), node("main.menu"), out)
	until("12:01")
	log(v[5], in, node("main.to_human"), node("main.handoff_requested"), asked("requested"))
	t5, _ := e.escalate(v[5], "requested", "normal")
	agentDay(v[5], t5, "12:02", "12:04", "12:20", "12:21", "5")

	until("13:00")
	log(v[6], in, node("main.hello"), node("main.handoff_requested"), asked("requested"))
	t6, _ := e.escalate(v[6], "requested", "normal")
	agentDay(v[6], t6, "13:06", "13:10", "13:30", "13:31", "3")

	until("14:00")
	log(v[8], in, node("main.hello"), node("main.menu"), out)
	until("14:01")
	log(v[8], in, asked("negative"))
	e.escalate(v[8], "negative", "high", "this is unacceptable")

	until("15:00")
	log(v[9], in, node("main.hello"), node("main.menu"), out)
	until("15:01")
	log(v[9], in, node("main.check_order"), node("order.ask_number"), out)
	until("16:00")
	log(v[10], in, node("main.hello"), node("main.menu"), out)
	until("16:01")
	log(v[10], in, store.Event{Type: "fallback", Flow: "main", Node: "menu"}, out)
	until("17:00")

	lead := newClient(t, srv)
	lead.login("lena")
	var rep struct {
		analytics.Report
		Live liveJSON
	}
	lead.call("GET", "/api/stats?from=2026-11-23&to=2026-11-23", nil, 200, &rep)
	f := rep.Figures
	type counts struct{ Conv, Open, Contained, HandedOff, Abandoned, BotTurns, Fallbacks, Tickets, Resolved, Waiting, Queued int }
	// 10 = 4 contained + 4 handed off + 2 open.
	if d := cmp.Diff(counts{10, 2, 4, 4, 0, 19, 1, 4, 3, 1, 1}, counts{f.Conversations, f.Open, f.Contained, f.HandedOff, f.Abandoned,
		f.BotTurns, f.Fallbacks, f.Tickets, f.TicketsResolved, f.TicketsWaiting, rep.Live.Queued}); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	p := func(v float64) *float64 { return &v }
	want := map[string]*float64{
		"containment": p(0.5), "handoff": p(0.5), "abandon": p(0), "fallback": p(0.0526),
		"provisional containment": p(0.4), "provisional handoff": p(0.4), "provisional abandon": p(0.2),
		// From the handoff: 3 min, 10 min, 60 min (v7 waited for the team).
		"afrt median": p(600), "afrt p90": p(3000),
		// Within 11:00–18:00 v7's first response took 5 minutes.
		"afrt business median": p(300), "afrt business p90": p(540),
		// From the customer's first message: 4 min, 10 min, 65 min.
		"afrt customer median": p(600), "afrt customer p90": p(3240),
		"afrt customer business median": p(300), "afrt customer business p90": p(540),
		// Claimed after 1, 6 and 57 minutes (2 of them in business hours).
		"queue wait median": p(360), "queue wait p90": p(2808),
		"queue wait business median": p(120), "queue wait business p90": p(312),
		// Resolved after 19, 30 and 70 minutes.
		"resolution median": p(1800), "resolution p90": p(3720),
		"csat": p(4),
	}
	got := map[string]*float64{
		"containment": f.ContainmentRate, "handoff": f.HandoffRate, "abandon": f.AbandonRate, "fallback": f.FallbackRate,
		"provisional containment": f.Provisional.ContainmentRate, "provisional handoff": f.Provisional.HandoffRate,
		"provisional abandon": f.Provisional.AbandonRate,
		"afrt median":         f.AFRTMedianSeconds, "afrt p90": f.AFRTP90Seconds,
		"afrt business median": f.AFRTBusinessMedianSeconds, "afrt business p90": f.AFRTBusinessP90Seconds,
		"afrt customer median": f.AFRTCustomerMedianSeconds, "afrt customer p90": f.AFRTCustomerP90Seconds,
		"afrt customer business median": f.AFRTCustomerBusinessMedianSeconds, "afrt customer business p90": f.AFRTCustomerBusinessP90Seconds,
		"queue wait median": f.QueueWaitMedianSeconds, "queue wait p90": f.QueueWaitP90Seconds,
		"queue wait business median": f.QueueWaitBusinessMedianSeconds, "queue wait business p90": f.QueueWaitBusinessP90Seconds,
		"resolution median": f.ResolutionMedianSeconds, "resolution p90": f.ResolutionP90Seconds,
		"csat": f.CSATAverage,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("figures at 17:00 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"requested": 3, "negative": 1}, f.HandoffsByReason); d != "" {
		t.Errorf("reasons (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}, f.CSATDistribution); d != "" {
		t.Errorf("CSAT distribution (-want +got):\n%s", d)
	}
	wantAgents := []analytics.AgentRow{{Agent: "anna", Tickets: 3, Resolved: 3, AFRTMedianSeconds: p(600), CSATAverage: p(4), CSATResponses: 3}}
	if d := cmp.Diff(wantAgents, rep.Agents); d != "" {
		t.Errorf("agents (-want +got):\n%s", d)
	}
	// Handoff records no comment with a rating yet: the list is empty, not
	// made up.
	if rep.Comments == nil || len(rep.Comments) != 0 {
		t.Errorf("CSAT comments %+v", rep.Comments)
	}
	// Sunday had nothing: every count's change is its value.
	for _, h := range rep.Headline {
		if h.Key == "conversations" && (h.Previous == nil || *h.Previous != 0 || h.Change == nil || *h.Change != 10) {
			t.Errorf("conversations headline %+v", h)
		}
	}
}

// scriptGraphs is the day's project: its ask node is the order number.
type scriptGraphs struct{}

func (scriptGraphs) Graphs() []analytics.Graph {
	return append(demoGraphs{}.Graphs(), analytics.Graph{Flow: "order", Start: "ask_number",
		Nodes: []analytics.GraphNode{{ID: "ask_number", Kind: "ask", Label: "Your order number?"}}})
}
