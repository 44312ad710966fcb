package analytics

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// day0 is the first day of the generated log.
var day0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// at is day0 + days at hh:mm:ss.
func at(days int, clock string) time.Time {
	t, err := time.Parse(time.TimeOnly, clock)
	if err != nil {
		panic(err)
	}
	return day0.AddDate(0, 0, days).Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
}

// logger writes a generated event log and tickets into a real store.
type logger struct {
	t   *testing.T
	db  *store.DB
	evs []store.Event
}

func newLogger(t *testing.T) *logger {
	return &logger{t: t, db: storetest.OpenWith(t, store.Options{NoSync: true})}
}

func (l *logger) contact(identity string) string {
	l.t.Helper()
	c, _, err := l.db.ResolveContact(context.Background(), identity, "", "")
	if err != nil {
		l.t.Fatal(err)
	}
	return c.ID
}

// ev adds one event; kv are Data pairs.
func (l *logger) ev(when time.Time, contact, typ, flow, node string, kv ...string) {
	var data map[string]string
	if len(kv) > 0 {
		data = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			data[kv[i]] = kv[i+1]
		}
	}
	l.evs = append(l.evs, store.Event{At: when, ContactID: contact, Type: typ, Flow: flow, Node: node, Data: data})
}

// in is a customer message; nodes are "flow.node" entered in the turn;
// a bot reply follows.
func (l *logger) turn(when time.Time, contact, channel, lang string, nodes ...string) {
	l.ev(when, contact, "message_in", "", "", "channel", channel, "lang", lang)
	for _, n := range nodes {
		f, id, _ := cut(n)
		l.ev(when, contact, "node", f, id)
	}
	l.ev(when, contact, "message_out", "", "", "channel", channel, "sender", "bot")
}

func cut(ref string) (string, string, bool) {
	for i := range ref {
		if ref[i] == '.' {
			return ref[:i], ref[i+1:], true
		}
	}
	return "", ref, false
}

func (l *logger) ticket(tk store.Ticket) store.Ticket {
	l.t.Helper()
	out, err := l.db.OpenTicket(context.Background(), tk)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l *logger) flush() {
	l.t.Helper()
	if err := l.db.AppendEvents(context.Background(), l.evs...); err != nil {
		l.t.Fatal(err)
	}
	l.evs = nil
}

// seedLog writes the log whose answers TestReportKnownAnswers checks. The
// period is day0 and day0+1; the data ends at day0+5.
func seedLog(t *testing.T) *logger {
	l := newLogger(t)
	tid := func(tk store.Ticket) string { return strconv.FormatUint(tk.ID, 10) }

	// c1: answered by the bot, then silent: contained, stopped at main.menu.
	c1 := l.contact("telegram:1")
	l.turn(at(0, "09:00:00"), c1, "telegram", "ru", "main.hello", "main.menu")
	l.turn(at(0, "09:01:00"), c1, "telegram", "ru", "main.answer", "main.anything_else", "main.menu")

	// c2: the double-count case. The bot answers, then the customer asks
	// for a person: handed off once, never also contained. Rated 5.
	c2 := l.contact("web:v2")
	t2 := l.ticket(store.Ticket{ContactID: c2, Address: "web:v2", Reason: "requested", Status: store.TicketResolved,
		AgentID: "anna", CSAT: 5, Outcome: "csat",
		CreatedAt: at(0, "10:02:00"), AssignedAt: at(0, "10:02:30"), FirstReplyAt: at(0, "10:03:00"), ResolvedAt: at(0, "10:12:00")})
	l.turn(at(0, "10:00:00"), c2, "web", "", "main.hello", "main.menu")
	l.turn(at(0, "10:01:00"), c2, "web", "en", "main.answer", "main.anything_else", "main.menu")
	l.turn(at(0, "10:02:00"), c2, "web", "en", "main.to_human", "main.handoff_requested")
	l.ev(at(0, "10:02:00"), c2, "handoff_requested", "", "", "reason", "requested", "priority", "normal")
	l.ev(at(0, "10:02:00"), c2, "ticket.queued", "", "", "ticket", tid(t2), "reason", "requested")
	l.ev(at(0, "10:02:30"), c2, "ticket.assigned", "", "", "ticket", tid(t2), "agent", "anna")
	l.ev(at(0, "10:02:40"), c2, "message_in", "", "", "channel", "web", "lang", "en") // to the agent
	l.ev(at(0, "10:03:00"), c2, "message_out", "", "", "channel", "web", "sender", "agent:anna")
	l.ev(at(0, "10:03:00"), c2, "ticket.first_reply", "", "", "ticket", tid(t2), "agent", "anna")
	l.ev(at(0, "10:12:00"), c2, "ticket.resolved", "", "", "ticket", tid(t2), "outcome", "csat")
	l.ev(at(0, "10:12:30"), c2, "message_in", "", "", "channel", "web", "lang", "en") // the rating
	l.ev(at(0, "10:12:30"), c2, "ticket.csat", "", "", "ticket", tid(t2), "score", "5")
	l.ev(at(0, "10:12:30"), c2, "resumed", "", "")
	l.ev(at(0, "10:12:30"), c2, "node", "main", "anything_else")
	l.ev(at(0, "10:12:30"), c2, "node", "main", "menu")

	// c3: asked for an order number, not understood, gone: abandoned at
	// order.ask_number.
	c3 := l.contact("vk:3")
	l.turn(at(0, "11:00:00"), c3, "vk", "ru", "main.hello", "main.menu")
	l.turn(at(0, "11:00:30"), c3, "vk", "ru", "main.check_order", "order.ask_number")
	l.ev(at(0, "11:01:00"), c3, "message_in", "", "", "channel", "vk", "lang", "ru")
	l.ev(at(0, "11:01:00"), c3, "fallback", "order", "ask_number")
	l.ev(at(0, "11:01:00"), c3, "message_out", "", "", "channel", "vk", "sender", "bot")

	// c4: the flow ends, the customer is back two hours later (returned);
	// the second conversation ends for good (contained).
	c4 := l.contact("web:v4")
	l.turn(at(0, "12:00:00"), c4, "web", "en", "main.hello", "main.bye")
	l.ev(at(0, "12:00:00"), c4, "conversation_end", "", "")
	l.turn(at(0, "14:00:00"), c4, "web", "en", "main.hello", "main.bye")
	l.ev(at(0, "14:00:00"), c4, "conversation_end", "", "")

	// c5 on day 1: a complaint straight to a person, rated 3.
	c5 := l.contact("telegram:5")
	t5 := l.ticket(store.Ticket{ContactID: c5, Address: "telegram:5", Reason: "complaint", Status: store.TicketResolved,
		AgentID: "bob", CSAT: 3, Outcome: "csat",
		CreatedAt: at(1, "09:00:00"), FirstReplyAt: at(1, "09:03:00"), ResolvedAt: at(1, "09:20:00")})
	l.turn(at(1, "09:00:00"), c5, "telegram", "ru", "complaint.listen")
	l.ev(at(1, "09:00:10"), c5, "message_in", "", "", "channel", "telegram", "lang", "ru")
	l.ev(at(1, "09:00:10"), c5, "node", "complaint", "escalate")
	l.ev(at(1, "09:00:10"), c5, "handoff_requested", "", "", "reason", "complaint", "priority", "high")
	l.ev(at(1, "09:00:10"), c5, "ticket.queued", "", "", "ticket", tid(t5), "reason", "complaint")
	l.ev(at(1, "09:03:00"), c5, "message_out", "", "", "channel", "telegram", "sender", "agent:bob")
	l.ev(at(1, "09:20:00"), c5, "ticket.resolved", "", "", "ticket", tid(t5), "outcome", "csat")

	// c6: started late on day 1 and still going when the data ends: open.
	c6 := l.contact("telegram:6")
	l.turn(at(1, "23:30:00"), c6, "telegram", "ru", "main.hello", "main.menu")
	l.turn(at(2, "00:30:00"), c6, "telegram", "ru", "main.answer", "main.anything_else", "main.menu")

	// c7: outside the period on both sides, and one conversation that
	// started the evening before and runs past midnight into the period:
	// it belongs to the day before, whole.
	c7 := l.contact("vk:7")
	l.turn(at(-1, "23:00:00"), c7, "vk", "ru", "main.hello", "main.menu")
	l.turn(at(0, "01:00:00"), c7, "vk", "ru", "main.answer", "main.anything_else", "main.menu")
	l.turn(at(3, "12:00:00"), c7, "vk", "ru", "main.hello", "main.menu")

	// c8: a ticket with no events (opened by an integration): counted in
	// the ticket figures under its address channel; AFRT 300 s, unresolved.
	c8 := l.contact("vk:8")
	l.ticket(store.Ticket{ContactID: c8, Address: "vk:8", Reason: "requested", Status: store.TicketAssigned,
		AgentID: "anna", CreatedAt: at(1, "15:00:00"), FirstReplyAt: at(1, "15:05:00")})
	// A ticket created after the period is not counted.
	l.ticket(store.Ticket{ContactID: l.contact("vk:9"), Address: "vk:9", Reason: "negative", CreatedAt: at(4, "10:00:00")})
	l.flush()
	return l
}

func f(v float64) *float64 { return &v }

func TestReportKnownAnswers(t *testing.T) {
	l := seedLog(t)
	rep, err := Compute(l.db, Options{From: at(0, "00:00:00"), To: at(2, "00:00:00"), Now: at(5, "00:00:00")})
	if err != nil {
		t.Fatal(err)
	}

	// Totals: c1 c2 c3 c4 c4' c5 c6 — not c7 (started before) nor c7' (after).
	got := rep.Figures
	want := Figures{
		Conversations: 7, Open: 1, Contained: 2, HandedOff: 2, Abandoned: 1, Returned: 1,
		ContainmentRate: f(0.3333), HandoffRate: f(0.3333), AbandonRate: f(0.1667),
		// As they stand, the open c6 (answered, silent) is contained.
		Provisional: Provisional{Contained: 3, HandedOff: 2, Abandoned: 1, Returned: 1,
			ContainmentRate: f(0.4286), HandoffRate: f(0.2857), AbandonRate: f(0.1429)},
		HandoffsByReason: map[string]int{"requested": 1, "complaint": 1},
		// in: c1 2, c2 5, c3 3, c4 1+1, c5 2, c6 2 = 16; out: 2, 4, 3, 1+1, 2, 2 = 15
		Messages: 31, MessagesIn: 16, MessagesOut: 15,
		// Bot turns leave out the message to the agent, the complaint's
		// second message (a ticket was not open yet, so it counts: 2 for
		// c5) and the rating: c1 2, c2 3, c3 3, c4 2, c5 2, c6 2.
		BotTurns: 14, Fallbacks: 1, FallbackRate: f(0.0714),
		Tickets: 3, TicketsResolved: 2,
		// AFRT 60, 180, 300 s; resolution 600, 1200 s.
		AFRTMedianSeconds: f(180), AFRTP90Seconds: f(276),
		// From the customer's first message: c2 10:00 -> 10:03, c5 09:00
		// -> 09:03; c8's ticket has no conversation.
		AFRTCustomerMedianSeconds: f(180), AFRTCustomerP90Seconds: f(180),
		// Only c2's ticket records its assignment, 30 s after the handoff.
		QueueWaitMedianSeconds: f(30), QueueWaitP90Seconds: f(30),
		ResolutionMedianSeconds: f(900), ResolutionP90Seconds: f(1140),
		CSATAverage: f(4), CSATResponses: 2,
		CSATDistribution: map[string]int{"1": 0, "2": 0, "3": 1, "4": 0, "5": 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("totals (-want +got):\n%s", d)
	}

	keys := func(rows []Row) map[string][2]int { // key -> conversations, tickets
		m := map[string][2]int{}
		for _, r := range rows {
			m[r.Key] = [2]int{r.Conversations, r.Tickets}
		}
		return m
	}
	if d := cmp.Diff(map[string][2]int{"2026-11-20": {5, 1}, "2026-11-21": {2, 2}}, keys(rep.ByDay)); d != "" {
		t.Errorf("by day (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][2]int{"telegram": {3, 1}, "web": {3, 1}, "vk": {1, 1}}, keys(rep.ByChannel)); d != "" {
		t.Errorf("by channel (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string][2]int{"ru": {4, 1}, "en": {3, 1}, Unknown: {0, 1}}, keys(rep.ByLang)); d != "" {
		t.Errorf("by language (-want +got):\n%s", d)
	}
	// Flows overlap: c3 entered main and order.
	if d := cmp.Diff(map[string][2]int{"main": {6, 1}, "order": {1, 0}, "complaint": {1, 1}}, keys(rep.ByFlow)); d != "" {
		t.Errorf("by flow (-want +got):\n%s", d)
	}
	day0Row := rep.ByDay[0]
	if day0Row.Contained != 2 || day0Row.HandedOff != 1 || *day0Row.ContainmentRate != 0.4 || day0Row.HandoffsByReason["requested"] != 1 {
		t.Errorf("day 0 = %+v", day0Row)
	}
	if d := rep.ByDay[1]; d.Open != 1 || d.HandedOff != 1 || *d.ContainmentRate != 0 || *d.CSATAverage != 3 {
		t.Errorf("day 1 = %+v", d)
	}

	node := func(flow, id string) NodeStat {
		for _, fn := range rep.Funnels {
			if fn.Flow == flow {
				for _, n := range fn.Nodes {
					if n.Node == id {
						return n
					}
				}
			}
		}
		t.Fatalf("no funnel node %s.%s", flow, id)
		return NodeStat{}
	}
	wantNodes := map[string]NodeStat{
		// c3 left here after a fallback.
		"order.ask_number": {Node: "ask_number", Entered: 1, Fallbacks: 1, DroppedOff: 1, Abandoned: 1, DropOffRate: f(1)},
		// c1, c2, c3, c6 entered the menu; only c1 stopped there (c2 was
		// handed off, c3 went on, c6 is open).
		"main.menu":              {Node: "menu", Entered: 4, DroppedOff: 1, DropOffRate: f(0.25)},
		"main.handoff_requested": {Node: "handoff_requested", Entered: 1, Handoffs: 1, DropOffRate: f(0)},
		"main.bye":               {Node: "bye", Entered: 2, DropOffRate: f(0)}, // ended: no drop-off
		"complaint.escalate":     {Node: "escalate", Entered: 1, Handoffs: 1, DropOffRate: f(0)},
	}
	for ref, w := range wantNodes {
		fl, id, _ := cut(ref)
		if d := cmp.Diff(w, node(fl, id)); d != "" {
			t.Errorf("funnel %s (-want +got):\n%s", ref, d)
		}
	}

	wantAgents := []AgentRow{
		{Agent: "anna", Tickets: 2, Resolved: 1, AFRTMedianSeconds: f(180), CSATAverage: f(5), CSATResponses: 1},
		{Agent: "bob", Tickets: 1, Resolved: 1, AFRTMedianSeconds: f(180), CSATAverage: f(3), CSATResponses: 1},
	}
	if d := cmp.Diff(wantAgents, rep.Agents); d != "" {
		t.Errorf("agents (-want +got):\n%s", d)
	}
}

// The double-count case on its own: a bot answer, then a handoff in the
// same conversation is one conversation, handed off, with containment 0.
func TestHandoffAfterBotAnswerCountsOnce(t *testing.T) {
	l := newLogger(t)
	c := l.contact("web:x")
	l.turn(at(0, "10:00:00"), c, "web", "en", "main.answer")
	l.turn(at(0, "10:05:00"), c, "web", "en", "main.to_human")
	l.ev(at(0, "10:05:00"), c, "handoff_requested", "", "", "reason", "requested")
	l.flush()
	rep, err := Compute(l.db, Options{Now: at(3, "00:00:00")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Conversations != 1 || rep.HandedOff != 1 || rep.Contained != 0 || *rep.ContainmentRate != 0 ||
		rep.HandoffsByReason["requested"] != 1 || len(rep.HandoffsByReason) != 1 {
		t.Errorf("got %+v", rep.Figures)
	}
}

// Silence longer than Idle splits a contact's messages into two
// conversations; a shorter one does not.
func TestIdleSplitsConversations(t *testing.T) {
	l := newLogger(t)
	c := l.contact("web:x")
	l.turn(at(0, "10:00:00"), c, "web", "en", "main.menu")
	l.turn(at(0, "23:00:00"), c, "web", "en", "main.menu") // 13 h later: same conversation
	l.turn(at(1, "23:00:00"), c, "web", "en", "main.menu") // 24 h later: a new one
	l.flush()
	for _, tc := range []struct {
		idle  time.Duration
		convs int
	}{{0, 2}, {12 * time.Hour, 3}, {48 * time.Hour, 1}} {
		rep, err := Compute(l.db, Options{Idle: tc.idle, Now: at(9, "00:00:00")})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Conversations != tc.convs || rep.Contained != tc.convs {
			t.Errorf("idle %v: %d conversations, %d contained; want %d", tc.idle, rep.Conversations, rep.Contained, tc.convs)
		}
	}
}

func TestEmptyLog(t *testing.T) {
	db := storetest.Open(t)
	rep, err := Compute(db, Options{From: at(0, "00:00:00"), To: at(3, "00:00:00")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// Undefined figures are null, not zero; counts are zero; the three
	// days are listed for charts.
	for _, k := range []string{"containment_rate", "afrt_median_seconds", "resolution_median_seconds", "csat_average", "fallback_rate"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if m["conversations"] != 0.0 || len(m["handoffs_by_reason"].(map[string]any)) != 0 {
		t.Errorf("conversations %v, handoffs_by_reason %v", m["conversations"], m["handoffs_by_reason"])
	}
	if len(rep.ByDay) != 3 || rep.ByDay[0].Key != "2026-11-20" || rep.ByDay[2].Key != "2026-11-22" {
		t.Errorf("by_day = %+v", rep.ByDay)
	}
}

func TestComputeRejectsEmptyPeriod(t *testing.T) {
	db := storetest.Open(t)
	if _, err := Compute(db, Options{From: at(1, "00:00:00"), To: at(1, "00:00:00")}); err == nil {
		t.Error("an empty period was accepted")
	}
	if _, err := Compute(nil, Options{}); err == nil {
		t.Error("a nil source was accepted")
	}
}

func TestQuantile(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		q    float64
		want *float64
	}{
		{nil, 0.5, nil},
		{[]float64{7}, 0.9, f(7)},
		{[]float64{1, 2}, 0.5, f(1.5)},
		{[]float64{300, 60, 180}, 0.5, f(180)},
		{[]float64{300, 60, 180}, 0.9, f(276)},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, f(9.1)},
	} {
		if d := cmp.Diff(tc.want, quantile(tc.xs, tc.q)); d != "" {
			t.Errorf("quantile(%v, %v) (-want +got):\n%s", tc.xs, tc.q, d)
		}
	}
}

// Smaller rules, one conversation each: a skipped CSAT question makes the
// next message a bot turn; a reopened ticket hands off a later
// conversation with the ticket's first reason; an engine error leaves the
// last message not understood; days follow Options.Location.
func TestOutcomeRules(t *testing.T) {
	l := newLogger(t)
	tk := l.ticket(store.Ticket{ContactID: l.contact("web:s"), Address: "web:s", Reason: "negative", CreatedAt: at(0, "08:00:00")})
	id := strconv.FormatUint(tk.ID, 10)

	skip := tk.ContactID
	l.turn(at(0, "08:00:00"), skip, "web", "en", "main.menu")
	l.ev(at(0, "08:00:00"), skip, "ticket.queued", "", "", "ticket", id, "reason", "negative")
	l.ev(at(0, "08:10:00"), skip, "ticket.resolved", "", "", "ticket", id, "outcome", "csat")
	l.ev(at(0, "08:11:00"), skip, "message_in", "", "", "channel", "web", "lang", "en") // not a rating
	l.ev(at(0, "08:11:00"), skip, "ticket.csat_skipped", "", "", "ticket", id)
	// Two days later the customer writes and the ticket reopens.
	l.ev(at(2, "09:00:00"), skip, "message_in", "", "", "channel", "web", "lang", "en")
	l.ev(at(2, "09:00:00"), skip, "ticket.reopened", "", "", "ticket", id)

	broken := l.contact("telegram:e")
	l.turn(at(0, "23:30:00"), broken, "telegram", "ru", "main.menu")
	l.ev(at(0, "23:30:00"), broken, "error", "main", "menu", "error", "step limit")
	l.flush()

	rep, err := Compute(l.db, Options{Now: at(9, "00:00:00"), Location: time.FixedZone("UTC+3", 3*3600)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{"conversations": rep.Conversations, "handed_off": rep.HandedOff, "abandoned": rep.Abandoned,
		"bot_turns": rep.BotTurns, "negative": rep.HandoffsByReason["negative"]}
	// skip: 1st conversation 2 bot turns (menu + the skipped rating), 2nd
	// conversation is the reopen (a ticket holds it: no bot turn);
	// broken: 1 turn, abandoned.
	want := map[string]int{"conversations": 3, "handed_off": 2, "abandoned": 1, "bot_turns": 3, "negative": 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// 23:30 UTC is 02:30 the next day at UTC+3.
	var days []string
	for _, r := range rep.ByDay {
		if r.Conversations > 0 {
			days = append(days, r.Key+"="+strconv.Itoa(r.Conversations))
		}
	}
	if d := cmp.Diff([]string{"2026-11-20=1", "2026-11-21=1", "2026-11-22=1"}, days); d != "" {
		t.Errorf("days at UTC+3 (-want +got):\n%s", d)
	}
}
