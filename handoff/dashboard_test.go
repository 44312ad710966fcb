package handoff

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// demoGraphs is a stand-in for the flow engine's project: the main menu
// with a call into the order flow.
type demoGraphs struct{}

func (demoGraphs) Graphs() []analytics.Graph {
	return []analytics.Graph{{
		Flow: "main", Start: "hello",
		Nodes: []analytics.GraphNode{
			{ID: "hello", Kind: "say", Label: "Hello! How can I help?"},
			{ID: "menu", Kind: "wait"},
			{ID: "answer", Kind: "say", Label: "{{ faq.answer }}"},
			{ID: "check_order", Kind: "call", Label: "order"},
			{ID: "to_human", Kind: "say", Label: "Connecting you to an agent."},
			{ID: "handoff_requested", Kind: "handoff", Label: "requested"},
		},
		Edges: []analytics.GraphEdge{
			{From: "hello", To: "menu", Label: "next"},
			{From: "menu", To: "answer", Label: `faq.id != ""`},
			{From: "menu", To: "check_order", Label: `intent == "order_status"`},
			{From: "menu", To: "to_human", Label: `payload == "human"`},
			{From: "answer", To: "menu", Label: "next"},
			{From: "check_order", To: "order.ask_number", Label: "call"},
			{From: "to_human", To: "handoff_requested", Label: "next"},
		},
	}}
}

// seedDashboard writes a week's worth of known conversations before the
// env's clock (Monday 2026-11-23 10:00):
//
//	11-18  c1 contained; c2 bot answer then a handoff (requested): AFRT 2m, resolved in 10m, CSAT 5 (anna)
//	11-19  c3 abandoned at order.ask_number after a fallback; c4 handoff (negative): AFRT 5m, resolved in 29m, CSAT 2 (anna)
//	11-20  c5, c6 contained; c7 handoff (negative), still queued
//
// so containment per day is 50%, 0%, 66.7%, handoffs are negative 2 and
// requested 1, and every conversation entered main.menu (7), three of them
// stopping there (c1, c5, c6).
func seedDashboard(e *env) {
	e.t.Helper()
	ctx := context.Background()
	day := func(d int, hm string) time.Time {
		t, _ := time.Parse("15:04", hm)
		return time.Date(2026, 11, d, t.Hour(), t.Minute(), 0, 0, time.UTC)
	}
	var evs []store.Event
	add := func(at time.Time, c, typ, flow, node string, kv ...string) {
		ev := store.Event{At: at, ContactID: c, Type: typ, Flow: flow, Node: node, Data: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			ev.Data[kv[i]] = kv[i+1]
		}
		evs = append(evs, ev)
	}
	turn := func(at time.Time, c, ch string, nodes ...string) {
		add(at, c, "message_in", "", "", "channel", ch, "lang", "en")
		for _, n := range nodes {
			f, id, _ := strings.Cut(n, ".")
			add(at, c, "node", f, id)
		}
		add(at, c, "message_out", "", "", "channel", ch, "sender", "bot")
	}
	handoff := func(at time.Time, c store.Contact, reason string, tk store.Ticket) {
		tk.ContactID, tk.Address, tk.Reason, tk.CreatedAt = c.ID, c.Identities[0], reason, at
		t, err := e.db.OpenTicket(ctx, tk)
		if err != nil {
			e.t.Fatal(err)
		}
		id := strconv.FormatUint(t.ID, 10)
		add(at, c.ID, "handoff_requested", "", "", "reason", reason)
		add(at, c.ID, "ticket.queued", "", "", "ticket", id, "reason", reason)
		if !t.ResolvedAt.IsZero() {
			add(t.ResolvedAt, c.ID, "ticket.resolved", "", "", "ticket", id, "outcome", t.Outcome)
		}
	}
	c := func(id string) store.Contact { return e.contact(id, "", "en") }

	c1, c2, c3, c4, c5, c6, c7 := c("web:c1"), c("telegram:2"), c("web:c3"), c("vk:4"), c("web:c5"), c("web:c6"), c("telegram:7")
	turn(day(18, "09:00"), c1.ID, "web", "main.hello", "main.menu")
	turn(day(18, "09:01"), c1.ID, "web", "main.answer", "main.menu")
	turn(day(18, "10:00"), c2.ID, "telegram", "main.hello", "main.menu")
	turn(day(18, "10:01"), c2.ID, "telegram", "main.answer", "main.menu")
	turn(day(18, "10:02"), c2.ID, "telegram", "main.to_human", "main.handoff_requested")
	handoff(day(18, "10:02"), c2, "requested", store.Ticket{Status: store.TicketResolved, AgentID: "anna", CSAT: 5, Outcome: "csat",
		FirstReplyAt: day(18, "10:04"), ResolvedAt: day(18, "10:12")})

	turn(day(19, "11:00"), c3.ID, "web", "main.hello", "main.menu")
	turn(day(19, "11:01"), c3.ID, "web", "main.check_order", "order.ask_number")
	add(day(19, "11:02"), c3.ID, "message_in", "", "", "channel", "web", "lang", "en")
	add(day(19, "11:02"), c3.ID, "fallback", "order", "ask_number")
	turn(day(19, "12:00"), c4.ID, "vk", "main.hello", "main.menu")
	add(day(19, "12:01"), c4.ID, "message_in", "", "", "channel", "vk", "lang", "en")
	handoff(day(19, "12:01"), c4, "negative", store.Ticket{Status: store.TicketResolved, AgentID: "anna", CSAT: 2, Outcome: "csat",
		FirstReplyAt: day(19, "12:06"), ResolvedAt: day(19, "12:30")})

	turn(day(20, "09:00"), c5.ID, "web", "main.hello", "main.menu")
	turn(day(20, "09:05"), c5.ID, "web", "main.answer", "main.menu")
	turn(day(20, "13:00"), c6.ID, "web", "main.hello", "main.menu")
	turn(day(20, "15:00"), c7.ID, "telegram", "main.hello", "main.menu")
	add(day(20, "15:01"), c7.ID, "message_in", "", "", "channel", "telegram", "lang", "en")
	handoff(day(20, "15:01"), c7, "negative", store.Ticket{})

	if err := e.db.AppendEvents(ctx, evs...); err != nil {
		e.t.Fatal(err)
	}
	e.svc.SetFlowGraphs(demoGraphs{})
}

// GET /api/stats and /api/flows: leads and admins only; the figures are the
// seeded log's.
func TestStatsAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	e.agent("root", RoleAdmin)
	seedDashboard(e)

	agent := newClient(t, srv)
	agent.login("anna")
	for _, p := range []string{"/api/stats", "/api/flows"} {
		res, body := agent.do("GET", p, nil, nil)
		if res.StatusCode != 403 || !strings.Contains(string(body), "leads and admins") {
			t.Errorf("agent GET %s = %d %s, want 403", p, res.StatusCode, body)
		}
	}

	for _, who := range []string{"lena", "root"} {
		c := newClient(t, srv)
		c.login(who)
		var got struct {
			From, To                time.Time
			Conversations           int
			ContainmentRate         *float64        `json:"containment_rate"`
			HandoffsByReason        map[string]int  `json:"handoffs_by_reason"`
			AFRTMedianSeconds       *float64        `json:"afrt_median_seconds"`
			ResolutionMedianSeconds *float64        `json:"resolution_median_seconds"`
			CSATAverage             *float64        `json:"csat_average"`
			ByDay                   []analytics.Row `json:"by_day"`
			Live                    liveJSON
		}
		c.call("GET", "/api/stats", nil, 200, &got)
		// The default period: the 14 days up to today (2026-11-23).
		if want := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC); !got.From.Equal(want) || !got.To.Equal(want.AddDate(0, 0, 14)) {
			t.Errorf("%s: period %v – %v", who, got.From, got.To)
		}
		// 3 of 7 contained; AFRT 2m and 5m; resolved in 10m and 29m; CSAT 5 and 2.
		type figs struct {
			Conversations, Days, Queued       int
			Containment, AFRT, Resolved, CSAT float64
		}
		gotF := figs{got.Conversations, len(got.ByDay), got.Live.Queued, deref(got.ContainmentRate), deref(got.AFRTMedianSeconds),
			deref(got.ResolutionMedianSeconds), deref(got.CSATAverage)}
		if d := cmp.Diff(figs{7, 14, 1, 0.4286, 210, 1170, 3.5}, gotF); d != "" {
			t.Errorf("%s: stats (-want +got):\n%s", who, d)
		}
		if d := cmp.Diff(map[string]int{"negative": 2, "requested": 1}, got.HandoffsByReason); d != "" {
			t.Errorf("handoffs by reason (-want +got):\n%s", d)
		}
		var flows struct{ Flows []analytics.Graph }
		c.call("GET", "/api/flows", nil, 200, &flows)
		if d := cmp.Diff(demoGraphs{}.Graphs(), flows.Flows); d != "" {
			t.Errorf("flows (-want +got):\n%s", d)
		}
	}

	lead := newClient(t, srv)
	lead.login("lena")
	var one struct {
		Conversations int
		ByDay         []analytics.Row `json:"by_day"`
	}
	lead.call("GET", "/api/stats?from=2026-11-19&to=2026-11-19", nil, 200, &one)
	if one.Conversations != 2 || len(one.ByDay) != 1 || one.ByDay[0].Key != "2026-11-19" {
		t.Errorf("one day: %+v", one)
	}
	// Filters, grouping and the previous period.
	var filtered struct {
		Conversations, Tickets int
		Group                  string
		ByTime                 []analytics.Row `json:"by_time"`
		Previous               *analytics.Figures
		Headline               []analytics.HeadlineFigure
	}
	lead.call("GET", "/api/stats?from=2026-11-18&to=2026-11-20&agent=anna&group=week", nil, 200, &filtered)
	// anna holds c2's and c4's tickets; the three days fall in the week of
	// Monday 11-16; the three days before have nothing.
	if filtered.Conversations != 2 || filtered.Tickets != 2 || filtered.Group != "week" || len(filtered.ByTime) != 1 ||
		filtered.ByTime[0].Key != "2026-11-16" || filtered.Previous == nil || filtered.Previous.Conversations != 0 || len(filtered.Headline) == 0 {
		t.Errorf("agent anna by week: %+v", filtered)
	}
	lead.call("GET", "/api/stats?from=2026-11-18&to=2026-11-20&reason=negative&channel=telegram&compare=0", nil, 200, &filtered)
	if filtered.Conversations != 1 || filtered.Tickets != 1 || filtered.Previous != nil {
		t.Errorf("negative on telegram: %+v", filtered)
	}
	res, body := lead.do("GET", "/api/stats.csv?table=by_channel&from=2026-11-18&to=2026-11-20", nil, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="parley-by-channel-2026-11-18-2026-11-20.csv"` ||
		!strings.HasPrefix(string(body), "channel,conversations,open,contained,") || !strings.Contains(string(body), "\ntelegram,2,0,0,2,") {
		t.Errorf("CSV = %d %v\n%s", res.StatusCode, res.Header, body)
	}
	if res, _ := agent.do("GET", "/api/stats.csv?table=agents", nil, nil); res.StatusCode != 403 {
		t.Errorf("agent CSV = %d", res.StatusCode)
	}
	for q, want := range map[string]string{
		".csv?table=secrets":             `table \"secrets\": want one of headline,`,
		"?group=fortnight":               `group \"fortnight\": want day, week or month`,
		"?from=2026-11-30&to=2026-11-01": "from must not be after to",
		"?from=yesterday":                `from \"yesterday\": want a day YYYY-MM-DD`,
		"?from=2020-01-01&to=2026-01-01": "at most 366 days",
	} {
		res, body := lead.do("GET", "/api/stats"+q, nil, nil)
		if res.StatusCode != 400 || !strings.Contains(string(body), want) {
			t.Errorf("GET /api/stats%s = %d %s, want 400 %q", q, res.StatusCode, body, want)
		}
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}
