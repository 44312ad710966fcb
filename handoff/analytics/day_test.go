package analytics_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// A scripted day, Monday 2026-11-23, as the runtime and handoff log it: 10
// web chat visitors — 4 helped by the bot to the end of the flow, 3 asking
// for a person (answered and resolved by anna with CSAT 5, 3, 4; one before
// the team's hours of 09:00–18:00), 1 angry (still waiting at 20:00), 2
// leaving mid-flow (one while the bot waits for an order number, one after
// a message it did not understand). The day before has 1 contained and 1
// handed-off conversation. Every headline figure is checked against numbers
// worked out here by hand, first at 20:00 that day (open conversations,
// provisional figures), then two days later (the same conversations,
// settled).
type day struct {
	t   *testing.T
	db  *store.DB
	evs []store.Event
}

func mon(clock string) time.Time { return at(23, clock) }

func at(d int, clock string) time.Time {
	c, err := time.Parse("15:04", clock)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 11, d, c.Hour(), c.Minute(), 0, 0, time.UTC)
}

func (d *day) contact(id string) string {
	c, _, err := d.db.ResolveContact(context.Background(), id, "", "")
	if err != nil {
		d.t.Fatal(err)
	}
	return c.ID
}

func (d *day) ev(when time.Time, c, typ, flow, node string, kv ...string) {
	e := store.Event{At: when, ContactID: c, Type: typ, Flow: flow, Node: node}
	if len(kv) > 0 {
		e.Data = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Data[kv[i]] = kv[i+1]
		}
	}
	d.evs = append(d.evs, e)
}

// turn is a customer message, the nodes the flow entered, a bot reply.
func (d *day) turn(when time.Time, c string, nodes ...string) {
	d.ev(when, c, "message_in", "", "", "channel", "web", "lang", "en")
	for _, n := range nodes {
		f, id, _ := strings.Cut(n, ".")
		d.ev(when, c, "node", f, id)
	}
	d.ev(when, c, "message_out", "", "", "channel", "web", "sender", "bot")
}

// helped: greeted, answered, and the flow reaches its end node.
func (d *day) helped(c string, when time.Time) {
	d.turn(when, c, "main.hello", "main.menu")
	d.turn(when.Add(time.Minute), c, "main.answer", "main.bye")
	d.ev(when.Add(time.Minute), c, "conversation_end", "", "")
}

// person: the customer's handoff and the ticket's life as handoff logs it.
// Zero times are steps that did not happen.
func (d *day) person(c, reason string, handoffAt, assigned, reply, resolved time.Time, csat int, comment string) {
	tk := store.Ticket{ContactID: c, Address: "web:x", Reason: reason, Status: store.TicketQueued, CreatedAt: handoffAt}
	if !assigned.IsZero() {
		tk.Status, tk.AgentID, tk.AssignedAt, tk.FirstReplyAt = store.TicketAssigned, "anna", assigned, reply
	}
	if !resolved.IsZero() {
		tk.Status, tk.ResolvedAt, tk.Outcome, tk.CSAT = store.TicketResolved, resolved, "csat", csat
	}
	tk, err := d.db.OpenTicket(context.Background(), tk)
	if err != nil {
		d.t.Fatal(err)
	}
	id := strconv.FormatUint(tk.ID, 10)
	d.ev(handoffAt, c, "handoff_requested", "", "", "reason", reason, "priority", "normal")
	d.ev(handoffAt, c, "ticket.queued", "", "", "ticket", id, "reason", reason)
	if assigned.IsZero() {
		return
	}
	d.ev(assigned, c, "ticket.assigned", "", "", "ticket", id, "agent", "anna")
	d.ev(reply, c, "message_out", "", "", "channel", "web", "sender", "agent:anna")
	d.ev(reply, c, "ticket.first_reply", "", "", "ticket", id, "agent", "anna")
	d.ev(resolved, c, "ticket.resolved", "", "", "ticket", id, "agent", "anna", "outcome", "csat")
	d.ev(resolved.Add(time.Minute), c, "message_in", "", "", "channel", "web", "lang", "en") // the rating
	d.ev(resolved.Add(time.Minute), c, "ticket.csat", "", "", "ticket", id, "score", strconv.Itoa(csat), "comment", comment)
}

func scriptedDay(t *testing.T) *store.DB {
	d := &day{t: t, db: storetest.OpenWith(t, store.Options{NoSync: true})}
	v := make([]string, 11)
	for i := 1; i <= 10; i++ {
		v[i] = d.contact("web:v" + strconv.Itoa(i))
	}
	for i, clock := range []string{"09:00", "09:10", "09:20", "09:30"} {
		d.helped(v[i+1], mon(clock))
	}
	d.turn(mon("10:00"), v[5], "main.hello", "main.menu")
	d.turn(mon("10:01"), v[5], "main.to_human", "main.handoff_requested")
	d.person(v[5], "requested", mon("10:01"), mon("10:02"), mon("10:04"), mon("10:20"), 5, "Quick and kind, thanks")
	d.turn(mon("11:00"), v[6], "main.hello", "main.handoff_requested") // typed "operator" at once
	d.person(v[6], "requested", mon("11:00"), mon("11:06"), mon("11:10"), mon("11:30"), 3, "")
	d.turn(mon("08:25"), v[7], "main.hello", "main.menu") // before the team's hours
	d.turn(mon("08:30"), v[7], "main.to_human", "main.handoff_requested")
	d.person(v[7], "requested", mon("08:30"), mon("09:02"), mon("09:05"), mon("09:15"), 4, "")
	d.turn(mon("14:00"), v[8], "main.hello", "main.menu")
	d.ev(mon("14:01"), v[8], "message_in", "", "", "channel", "web", "lang", "en") // angry
	d.person(v[8], "negative", mon("14:01"), time.Time{}, time.Time{}, time.Time{}, 0, "")
	d.turn(mon("15:00"), v[9], "main.hello", "main.menu")
	d.turn(mon("15:01"), v[9], "main.check_order", "order.ask_number") // and gone
	d.turn(mon("16:00"), v[10], "main.hello", "main.menu")
	d.ev(mon("16:01"), v[10], "message_in", "", "", "channel", "web", "lang", "en")
	d.ev(mon("16:01"), v[10], "fallback", "main", "menu")
	d.ev(mon("16:01"), v[10], "message_out", "", "", "channel", "web", "sender", "bot")

	// Sunday: one contained, one handed off (AFRT 2 min, CSAT 2).
	y1, y2 := d.contact("web:y1"), d.contact("web:y2")
	d.helped(y1, at(22, "12:00"))
	d.turn(at(22, "13:00"), y2, "main.hello", "main.handoff_requested")
	d.person(y2, "requested", at(22, "13:00"), at(22, "13:01"), at(22, "13:02"), at(22, "13:10"), 2, "")
	if err := d.db.AppendEvents(context.Background(), d.evs...); err != nil {
		t.Fatal(err)
	}
	return d.db
}

func ptr(v float64) *float64 { return &v }

func TestScriptedDay(t *testing.T) {
	db := scriptedDay(t)
	hours, err := handoff.ParseHours("UTC", []string{"mon-fri 09:00-18:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	questions := analytics.QuestionNodes([]analytics.Graph{{Flow: "order", Start: "ask_number",
		Nodes: []analytics.GraphNode{{ID: "ask_number", Kind: "ask"}, {ID: "lookup", Kind: "http"}}}})
	opts := analytics.Options{From: mon("00:00"), To: at(24, "00:00"), Now: mon("20:00"), Compare: true,
		Hours: hours, Questions: questions}
	rep, err := analytics.Compute(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Figures
	type counts struct{ Conv, Open, Contained, HandedOff, Abandoned, Returned, BotTurns, Fallbacks, Tickets, Resolved, Waiting int }
	// 10 = 4 contained + 4 handed off + 2 open.
	if d := cmp.Diff(counts{10, 2, 4, 4, 0, 0, 19, 1, 4, 3, 1}, counts{f.Conversations, f.Open, f.Contained, f.HandedOff,
		f.Abandoned, f.Returned, f.BotTurns, f.Fallbacks, f.Tickets, f.TicketsResolved, f.TicketsWaiting}); d != "" {
		t.Errorf("counts at 20:00 (-want +got):\n%s", d)
	}
	// Rates over the 8 ended conversations; provisional over all 10, the
	// two open ones as they stand: abandoned (waiting for an order number,
	// after a miss).
	want := map[string]*float64{
		"containment_rate": ptr(0.5), "handoff_rate": ptr(0.5), "abandon_rate": ptr(0), "fallback_rate": ptr(0.0526),
		"provisional.containment_rate": ptr(0.4), "provisional.handoff_rate": ptr(0.4), "provisional.abandon_rate": ptr(0.2),
		// From the handoff: 3, 10, 35 min; from the first message: 4, 10, 40 min.
		"afrt_median": ptr(600), "afrt_p90": ptr(1800), "afrt_customer_median": ptr(600), "afrt_customer_p90": ptr(2040),
		// In business hours v7's wait counts from 09:00: 5 min (and 5 from its first message).
		"afrt_business_median": ptr(300), "afrt_business_p90": ptr(540),
		"afrt_customer_business_median": ptr(300), "afrt_customer_business_p90": ptr(540),
		// Assigned after 1, 6 and 32 min (2 in business hours); v8 is still waiting.
		"queue_wait_median": ptr(360), "queue_wait_p90": ptr(1608), "queue_wait_business_median": ptr(120), "queue_wait_business_p90": ptr(312),
		// Resolved after 19, 30 and 45 min.
		"resolution_median": ptr(1800), "resolution_p90": ptr(2520), "csat_average": ptr(4),
	}
	got := map[string]*float64{
		"containment_rate": f.ContainmentRate, "handoff_rate": f.HandoffRate, "abandon_rate": f.AbandonRate, "fallback_rate": f.FallbackRate,
		"provisional.containment_rate": f.Provisional.ContainmentRate, "provisional.handoff_rate": f.Provisional.HandoffRate,
		"provisional.abandon_rate": f.Provisional.AbandonRate,
		"afrt_median":              f.AFRTMedianSeconds, "afrt_p90": f.AFRTP90Seconds,
		"afrt_customer_median": f.AFRTCustomerMedianSeconds, "afrt_customer_p90": f.AFRTCustomerP90Seconds,
		"afrt_business_median": f.AFRTBusinessMedianSeconds, "afrt_business_p90": f.AFRTBusinessP90Seconds,
		"afrt_customer_business_median": f.AFRTCustomerBusinessMedianSeconds, "afrt_customer_business_p90": f.AFRTCustomerBusinessP90Seconds,
		"queue_wait_median": f.QueueWaitMedianSeconds, "queue_wait_p90": f.QueueWaitP90Seconds,
		"queue_wait_business_median": f.QueueWaitBusinessMedianSeconds, "queue_wait_business_p90": f.QueueWaitBusinessP90Seconds,
		"resolution_median": f.ResolutionMedianSeconds, "resolution_p90": f.ResolutionP90Seconds, "csat_average": f.CSATAverage,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("figures at 20:00 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int{"requested": 3, "negative": 1}, f.HandoffsByReason); d != "" {
		t.Errorf("reasons (-want +got):\n%s", d)
	}
	wantComments := []analytics.Comment{{At: mon("10:21"), Ticket: 1, Score: 5, Agent: "anna", Channel: "web", Text: "Quick and kind, thanks"}}
	if d := cmp.Diff(wantComments, rep.Comments); d != "" {
		t.Errorf("CSAT comments (-want +got):\n%s", d)
	}

	// Against Sunday (2 conversations, 1 contained, 1 handed off, CSAT 2).
	head := map[string][3]*float64{}
	for _, h := range rep.Headline {
		head[h.Key] = [3]*float64{h.Value, h.Previous, h.Change}
	}
	for key, w := range map[string][3]*float64{
		"conversations":                {ptr(10), ptr(2), ptr(8)},
		"open":                         {ptr(2), ptr(0), ptr(2)},
		"containment_rate":             {ptr(0.5), ptr(0.5), ptr(0)},
		"provisional.containment_rate": {ptr(0.4), ptr(0.5), ptr(-0.1)},
		"tickets":                      {ptr(4), ptr(1), ptr(3)},
		"afrt_median_seconds":          {ptr(600), ptr(120), ptr(480)},
		"queue_wait_median_seconds":    {ptr(360), ptr(60), ptr(300)},
		"csat_average":                 {ptr(4), ptr(2), ptr(2)},
	} {
		if d := cmp.Diff(w, head[key]); d != "" {
			t.Errorf("headline %s [value previous change] (-want +got):\n%s", key, d)
		}
	}
	if len(rep.Headline) < 10 || !rep.PreviousFrom.Equal(at(22, "00:00")) {
		t.Errorf("%d headline figures, previous period from %v", len(rep.Headline), rep.PreviousFrom)
	}

	// Rows add up, open ones included: by flow, main has all 10, order 1.
	for _, r := range append(append([]analytics.Row{}, rep.ByFlow...), rep.ByTime...) {
		if sum := r.Open + r.Contained + r.HandedOff + r.Abandoned + r.Returned; sum != r.Conversations {
			t.Errorf("row %s: %d conversations, outcomes add up to %d", r.Key, r.Conversations, sum)
		}
	}
	// The funnel keeps an open conversation out of the drop-off until it
	// is over.
	for _, fn := range rep.Funnels {
		for _, n := range fn.Nodes {
			if n.DroppedOff != 0 {
				t.Errorf("%s.%s: %d dropped off while the day runs", fn.Flow, n.Node, n.DroppedOff)
			}
		}
	}

	// Two days later the two open ones are over: abandoned, not contained.
	opts.Now = at(25, "20:00")
	later, err := analytics.Compute(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	lf := later.Figures
	if d := cmp.Diff(counts{10, 0, 4, 4, 2, 0, 19, 1, 4, 3, 1}, counts{lf.Conversations, lf.Open, lf.Contained, lf.HandedOff,
		lf.Abandoned, lf.Returned, lf.BotTurns, lf.Fallbacks, lf.Tickets, lf.TicketsResolved, lf.TicketsWaiting}); d != "" {
		t.Errorf("counts settled (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]*float64{ptr(0.4), ptr(0.4), ptr(0.2)}, []*float64{lf.ContainmentRate, lf.HandoffRate, lf.AbandonRate}); d != "" {
		t.Errorf("rates settled (-want +got):\n%s", d)
	}
	var order analytics.NodeStat
	for _, fn := range later.Funnels {
		for _, n := range fn.Nodes {
			if fn.Flow == "order" && n.Node == "ask_number" {
				order = n
			}
		}
	}
	if order.DroppedOff != 1 || order.Abandoned != 1 {
		t.Errorf("order.ask_number settled: %+v", order)
	}
}

// Filters, grouping and CSV over the same day.
func TestScriptedDayFiltersGroupsCSV(t *testing.T) {
	db := scriptedDay(t)
	base := analytics.Options{From: mon("00:00"), To: at(24, "00:00"), Now: mon("20:00")}
	for _, tc := range []struct {
		filter         analytics.Filter
		convs, tickets int
	}{
		{analytics.Filter{Agent: "anna"}, 3, 3},
		{analytics.Filter{Channel: "web"}, 10, 4},
		{analytics.Filter{Channel: "telegram"}, 0, 0},
		{analytics.Filter{Reason: "negative"}, 1, 1},
		{analytics.Filter{Flow: "order"}, 1, 0},
		{analytics.Filter{Flow: "main", Reason: "requested"}, 3, 3},
	} {
		o := base
		o.Filter = tc.filter
		rep, err := analytics.Compute(db, o)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Conversations != tc.convs || rep.Tickets != tc.tickets {
			t.Errorf("filter %+v: %d conversations, %d tickets; want %d, %d", tc.filter, rep.Conversations, rep.Tickets, tc.convs, tc.tickets)
		}
	}

	for group, wantKeys := range map[string][]string{"week": {"2026-11-23"}, "month": {"2026-11"}, "day": {"2026-11-23"}} {
		o := base
		o.Group = group
		rep, err := analytics.Compute(db, o)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range rep.ByTime {
			keys = append(keys, r.Key+"="+strconv.Itoa(r.Conversations))
		}
		if d := cmp.Diff([]string{wantKeys[0] + "=10"}, keys); d != "" || rep.Group != group {
			t.Errorf("group %s (%s) (-want +got):\n%s", group, rep.Group, d)
		}
	}
	// A month of weeks: every Monday listed, the first one before the period.
	o := base
	o.From, o.To, o.Group = at(1, "00:00"), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), analytics.GroupWeek
	rep, err := analytics.Compute(db, o)
	if err != nil {
		t.Fatal(err)
	}
	var weeks []string
	for _, r := range rep.ByTime {
		weeks = append(weeks, r.Key)
	}
	if d := cmp.Diff([]string{"2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"}, weeks); d != "" {
		t.Errorf("weeks of November (-want +got):\n%s", d)
	}
	if _, err := analytics.Compute(db, analytics.Options{Group: "fortnight"}); err == nil || !strings.Contains(err.Error(), `grouping "fortnight": want day, week or month`) {
		t.Errorf("bad grouping: %v", err)
	}

	rep, err = analytics.Compute(db, base)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := analytics.WriteCSV(&buf, rep, "by_reason"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "reason,conversations,open,contained,handed_off,") ||
		!strings.HasPrefix(lines[1], "negative,1,0,0,1,0,0,0,1,0,0,1,") || !strings.HasPrefix(lines[2], "requested,3,0,0,3,") {
		t.Errorf("by_reason CSV:\n%s", buf.String())
	}
	for _, table := range analytics.CSVTables {
		buf.Reset()
		if err := analytics.WriteCSV(&buf, rep, table); err != nil || !strings.Contains(buf.String(), "\n") {
			t.Errorf("table %s: %v %q", table, err, buf.String())
		}
	}
	if err := analytics.WriteCSV(&buf, rep, "nope"); err == nil || !strings.Contains(err.Error(), `no table "nope": want one of headline,`) {
		t.Errorf("unknown table: %v", err)
	}
	// A comment that looks like a formula stays text.
	rep.Comments = []analytics.Comment{{At: mon("10:00"), Ticket: 1, Score: 1, Text: "=HYPERLINK(\"x\")"}}
	buf.Reset()
	if err := analytics.WriteCSV(&buf, rep, "csat_comments"); err != nil || !strings.Contains(buf.String(), `"'=HYPERLINK(""x"")"`) {
		t.Errorf("formula comment: %v %s", err, buf.String())
	}
}
