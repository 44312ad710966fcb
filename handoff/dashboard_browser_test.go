package handoff

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/internal/browsertest"
)

// The lead dashboard in a real (headless) chromium over the seeded week of
// seedDashboard: each chart is drawn with the right number of SVG elements
// carrying the right values and labels, the flow graph has every node and
// edge with the funnel figures on it, the period can be changed, and an
// agent without the lead role is turned away.
func TestDashboardInBrowser(t *testing.T) {
	e := newEnv(t, Config{})
	srv := e.server()
	e.agent("anna", RoleAgent)
	e.agent("lena", RoleLead)
	seedDashboard(e)
	// A flow nobody entered sorts first: the view must still open on the
	// busiest one.
	e.svc.SetFlowGraphs(withQuietFlow{})

	// The width of the complaint (a table scrolling sideways).
	ctx := browsertest.New(t, browsertest.Size{Width: 1400, Height: 900})
	// do runs steps; every step here may be repeated, so a DevTools
	// "node/context not found" race (-32000, seen now and then right after
	// a navigation, also in TestConsoleInBrowser) is retried, not failed.
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		var err error
		for try := 0; try < 3; try++ {
			actx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err = chromedp.Do(actx, steps...)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "(-32000)") {
				break
			}
			t.Logf("%s: %v; again", what, err)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	strs := func(expr string) []string { return get(t, ctx, chromedp.Evaluate[[]string](expr)) }
	text := func(sel string) string { return get(t, ctx, chromedp.Text(chromedp.CSS(sel))) }
	signIn := func(name string) {
		do("sign in as "+name,
			chromedp.Navigate(srv.URL+"/console/login"),
			chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SendKeys(chromedp.CSS("#login-name"), name),
			chromedp.SendKeys(chromedp.CSS("#login-password"), testPassword),
			chromedp.Click(chromedp.CSS("#login-submit")),
			chromedp.WaitVisible(chromedp.CSS("#queue-pane, .queue-pane")),
		)
	}

	signIn("lena")
	do("open the dashboard from the console",
		chromedp.WaitVisible(chromedp.CSS("#dashboard-link")),
		chromedp.Click(chromedp.CSS("#dashboard-link")),
	)
	do("dashboard drawn", chromedp.WaitVisible(chromedp.CSS("#kpis .kpi")), pollJS(`document.body.dataset.ready === "1"`))
	// The default period is the last 14 days up to the server's today.
	if from, to := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("from").value`)),
		get(t, ctx, chromedp.Evaluate[string](`document.getElementById("to").value`)); from != "2026-11-10" || to != "2026-11-23" {
		t.Errorf("period inputs %s – %s", from, to)
	}
	kpis := strs(`[...document.querySelectorAll(".kpi")].map(k => k.dataset.kpi + "=" + k.querySelector(".kpi-value").textContent)`)
	// No queue wait (the seeded tickets record no assignment) and no
	// business hours configured: those tiles are left out.
	if d := cmp.Diff([]string{"conversations=7", "open=0", "containment_rate=42.9%", "provisional.containment_rate=42.9%",
		"handoff_rate=42.9%", "abandon_rate=14.3%", "fallback_rate=6.7%", "afrt_median_seconds=3m 30s",
		"afrt_customer_median_seconds=5m 0s", "resolution_median_seconds=19m 30s", "csat_average=3.50"}, kpis); d != "" {
		t.Errorf("KPIs (-want +got):\n%s", d)
	}
	// Against the 14 days before: nothing then.
	if c := text(`.kpi[data-kpi="conversations"] .kpi-change`); c != "+7 vs 0" {
		t.Errorf("conversations change %q", c)
	}
	if o := text("#outcomes"); o != "7 conversations = 3 contained + 3 handed off + 1 abandoned + 0 returned + 0 open" {
		t.Errorf("outcomes line %q", o)
	}
	// Nothing is cut or scrolls sideways at 1,400 px: the page, the flow
	// graph (scaled to the width) and the breakdown table.
	fits := get(t, ctx, chromedp.Evaluate[[]string](`[
		document.documentElement.scrollWidth <= document.documentElement.clientWidth ? "" : "page " + document.documentElement.scrollWidth,
		document.getElementById("flow-graph").getBoundingClientRect().width <= document.querySelector(".graph-wrap").clientWidth ? "" : "graph",
		document.getElementById("breakdown").scrollWidth <= document.getElementById("breakdown").parentElement.clientWidth ? "" : "breakdown",
		document.querySelector(".graph-wrap").scrollHeight <= document.querySelector(".graph-wrap").clientHeight ? "" : "graph cut"].filter(Boolean)`))
	if len(fits) > 0 {
		t.Errorf("does not fit at 1400 px: %q", fits)
	}
	if q, online := text("#live-queued"), text("#live-online"); q != "1" || online == "" {
		t.Errorf("live: queued %q online %q", q, online)
	}

	// Containment over time: one point per day with finished conversations.
	points := strs(`[...document.querySelectorAll("#chart-containment circle.point")].map(c => c.dataset.day + "=" + c.dataset.value)`)
	if d := cmp.Diff([]string{"2026-11-18=0.5", "2026-11-19=0", "2026-11-20=0.6667"}, points); d != "" {
		t.Errorf("containment points (-want +got):\n%s", d)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-containment path.line").length`)); n != 1 {
		t.Errorf("%d containment lines", n)
	}
	// The y axis is labelled in percent and some days are named on x.
	if labels := strs(`[...document.querySelectorAll("#chart-containment .axis-label")].map(e => e.textContent)`); !slices.Equal(labels, []string{"0%", "25%", "50%", "75%", "100%"}) {
		t.Errorf("containment y labels %q", labels)
	}
	if xl := strs(`[...document.querySelectorAll("#chart-containment .x-label")].map(e => e.textContent)`); !slices.Contains(xl, "11-10") || !slices.Contains(xl, "11-23") {
		t.Errorf("containment x labels %q", xl)
	}

	// Handoff reasons: one bar each, most frequent first.
	reasons := strs(`[...document.querySelectorAll("#chart-reasons g.bar-row")].map(g => g.querySelector(".bar-label").textContent + "=" + g.querySelector(".bar-value").textContent)`)
	if d := cmp.Diff([]string{"negative=2", "requested=1"}, reasons); d != "" {
		t.Errorf("reason bars (-want +got):\n%s", d)
	}
	widths := get(t, ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll("#chart-reasons rect.bar")].map(r => r.width.baseVal.value)`))
	if len(widths) != 2 || widths[0] <= widths[1] {
		t.Errorf("reason bar widths %v: want the 2 bar longer than the 1 bar", widths)
	}

	// AFRT: a median bar and a p90 tick on the two days with agent replies.
	afrt := strs(`[...document.querySelectorAll("#chart-afrt rect.bar")].map(r => r.dataset.day + "=" + r.dataset.value)`)
	if d := cmp.Diff([]string{"2026-11-18=120", "2026-11-19=300"}, afrt); d != "" {
		t.Errorf("AFRT bars (-want +got):\n%s", d)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-afrt line.p90").length`)); n != 2 {
		t.Errorf("%d p90 ticks, want 2", n)
	}

	// CSAT: five bars 1..5 with the counts, and the average.
	csat := strs(`[...document.querySelectorAll("#chart-csat rect.bar")].map(r => r.dataset.score + ":" + r.dataset.count)`)
	if d := cmp.Diff([]string{"1:0", "2:1", "3:0", "4:0", "5:1"}, csat); d != "" {
		t.Errorf("CSAT bars (-want +got):\n%s", d)
	}
	if avg := text("#csat-average"); avg != "average 3.50 from 2 ratings" {
		t.Errorf("CSAT average %q", avg)
	}

	// The main flow as a graph: every node and edge, the call into the order
	// flow as a stub, the funnel on the nodes, columns by depth.
	if f := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("flow-select").value`)); f != "main" {
		t.Errorf("flow shown: %q", f)
	}
	nodes := strs(`[...document.querySelectorAll("#flow-graph g.node:not(.ext)")].map(g => g.dataset.node + ":" + g.dataset.kind)`)
	if d := cmp.Diff([]string{"hello:say", "menu:wait", "answer:say", "check_order:call", "to_human:say", "handoff_requested:handoff"}, nodes); d != "" {
		t.Errorf("graph nodes (-want +got):\n%s", d)
	}
	if ext := strs(`[...document.querySelectorAll("#flow-graph g.node.ext")].map(g => g.dataset.node)`); !slices.Equal(ext, []string{"order.ask_number"}) {
		t.Errorf("other-flow stubs %q", ext)
	}
	edges := strs(`[...document.querySelectorAll("#flow-graph path.edge")].map(p => p.dataset.from + ">" + p.dataset.to)`)
	if len(edges) != 7 || !slices.Contains(edges, "answer>menu") || !slices.Contains(edges, "check_order>order.ask_number") {
		t.Errorf("graph edges %q", edges)
	}
	stat := func(node string) string {
		return get(t, ctx, chromedp.Evaluate[string](`(document.querySelector('#flow-graph g.node[data-node="`+node+`"] .node-stats') || {}).textContent || ""`))
	}
	if s := stat("menu"); s != "7 in · 3 left" {
		t.Errorf("menu funnel %q", s)
	}
	if s := stat("handoff_requested"); s != "1 in · 0 left" {
		t.Errorf("handoff_requested funnel %q", s)
	}
	if cls := get(t, ctx, chromedp.Evaluate[string](`document.querySelector('#flow-graph g.node[data-node="menu"]').getAttribute("class")`)); !strings.Contains(cls, "drop-3") {
		t.Errorf("menu (3 of 7 left) is not marked as a heavy drop-off: class %q", cls)
	}
	xs := get(t, ctx, chromedp.Evaluate[[]float64](`["hello","menu","answer","to_human","handoff_requested"].map(id => document.querySelector('#flow-graph g.node[data-node="'+id+'"]').transform.baseVal[0].matrix.e)`))
	if !(xs[0] < xs[1] && xs[1] < xs[2] && xs[2] == xs[3] && xs[3] < xs[4]) {
		t.Errorf("node columns %v: want hello | menu | answer, to_human | handoff_requested", xs)
	}
	// The funnel table of the flow lists the same figures.
	// Two handoffs came right after the menu (c4 and c7 were escalated while
	// it waited).
	if row := text(`#funnel-table tr[data-node="menu"]`); strings.Join(strings.Fields(row), " ") != "menu 7 3 0 42.9% 0 2" {
		t.Errorf("funnel row %q", row)
	}

	if os.Getenv("PARLEY_SHOTS") != "" {
		browsertest.Screenshot(t, ctx, "/tmp/dashboard.png")
		do("scroll to the flow", chromedp.ScrollIntoView(chromedp.CSS(".flow-section")))
		browsertest.Screenshot(t, ctx, "/tmp/dashboard-flow.png")
	}

	// A flow wider than the page is scaled to it, not cut or scrolled.
	do("show the wide flow", pollJS(selectJS("#flow-select", "about")),
		pollJS(`document.querySelectorAll("#flow-graph g.node").length === 14`))
	if w := get(t, ctx, chromedp.Evaluate[[]float64](`[document.getElementById("flow-graph").viewBox.baseVal.width,
		document.getElementById("flow-graph").getBoundingClientRect().width, document.querySelector(".graph-wrap").clientWidth,
		document.documentElement.scrollWidth - document.documentElement.clientWidth]`)); w[0] < 3000 || w[1] > w[2] || w[3] > 0 {
		t.Errorf("wide flow: drawn %v px wide, shown %v px in a %v px box, page scrolls sideways %v px", w[0], w[1], w[2], w[3])
	}

	// The order flow has no graph here (not in the project given): its
	// funnel is still shown, as a table.
	do("show the order flow", pollJS(selectJS("#flow-select", "order")), chromedp.WaitVisible(chromedp.CSS("#flow-empty")))
	if row := text(`#funnel-table tr[data-node="ask_number"]`); strings.Join(strings.Fields(row), " ") != "ask_number 1 1 1 100.0% 1 0" {
		t.Errorf("order funnel row %q", row)
	}
	do("back to main without the funnel",
		pollJS(selectJS("#flow-select", "main")),
		chromedp.Click(chromedp.CSS("#show-funnel")),
		pollJS(`document.querySelectorAll("#flow-graph g.node").length === 7 && document.querySelectorAll("#flow-graph .node-stats").length === 0`),
	)

	agents := strs(`[...document.querySelectorAll("#agents-table tbody tr")].map(r => [...r.cells].map(c => c.textContent).join("|"))`)
	if d := cmp.Diff([]string{"Anna|2|2|3m 30s|3.50"}, agents); d != "" {
		t.Errorf("agents table (-want +got):\n%s", d)
	}

	// The new controls: every table has a CSV link with the report's
	// parameters, and the download is the same report's table.
	href := get(t, ctx, chromedp.Evaluate[string](`document.querySelector('#agents-table').previousElementSibling.querySelector("a.csv").href`))
	if !strings.Contains(href, "/api/stats.csv?from=2026-11-10&to=2026-11-23&group=day&table=agents") {
		t.Errorf("agents CSV link %q", href)
	}
	csv := get(t, ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#agents-table').previousElementSibling.querySelector("a.csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if csv != "agent,tickets,resolved,afrt_median_seconds,csat_average,csat_responses\nanna,2,2,210,3.5,2\n" {
		t.Errorf("agents CSV %q", csv)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#csv-all a.csv[href]").length`)); n != 11 {
		t.Errorf("%d links to all tables, want 11", n)
	}
	// Filter by agent and group by week: anna's two conversations (11-18
	// and 11-19) in the week of Monday 11-16; the breakdown by time follows.
	do("filter by anna, by week",
		pollJS(selectJS("#f-agent", "anna")),
		pollJS(selectJS("#group", "week")),
		chromedp.Click(chromedp.CSS("#apply")),
		pollJS(`document.body.dataset.ready === "1" && document.querySelector('.kpi[data-kpi="conversations"] .kpi-value').textContent === "2"`),
		pollJS(selectJS("#breakdown-by", "by_time")),
	)
	weeks := strs(`[...document.querySelectorAll("#breakdown tbody tr")].map(r => r.dataset.key + "=" + r.cells[1].textContent)`)
	if d := cmp.Diff([]string{"2026-11-09=0", "2026-11-16=2", "2026-11-23=0"}, weeks); d != "" {
		t.Errorf("weeks for anna (-want +got):\n%s", d)
	}
	if href := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("breakdown-csv").href`)); !strings.Contains(href, "group=week&agent=anna&table=by_time") {
		t.Errorf("breakdown CSV link %q", href)
	}
	do("filter by reason negative, all agents, by day",
		pollJS(selectJS("#f-agent", "")),
		pollJS(selectJS("#f-reason", "negative")),
		pollJS(selectJS("#group", "day")),
		chromedp.Click(chromedp.CSS("#apply")),
		pollJS(`document.body.dataset.ready === "1" && document.querySelector('.kpi[data-kpi="conversations"] .kpi-value').textContent === "2"`),
	)
	if reasons := strs(`[...document.querySelectorAll("#chart-reasons g.bar-row")].map(g => g.dataset.reason + "=" + g.dataset.count)`); !slices.Equal(reasons, []string{"negative=2"}) {
		t.Errorf("reason filter: bars %q", reasons)
	}
	do("no filter", pollJS(selectJS("#f-reason", "")), chromedp.Click(chromedp.CSS("#apply")),
		pollJS(`document.body.dataset.ready === "1" && document.querySelector('.kpi[data-kpi="conversations"] .kpi-value').textContent === "7"`))
	// One day only: the charts follow.
	do("change the period",
		chromedp.SetValue(chromedp.CSS("#from"), "2026-11-19"),
		chromedp.SetValue(chromedp.CSS("#to"), "2026-11-19"),
		chromedp.Click(chromedp.CSS("#apply")),
		pollJS(`document.querySelectorAll("#chart-containment circle.point").length === 1`),
	)
	if reasons := strs(`[...document.querySelectorAll("#chart-reasons g.bar-row")].map(g => g.dataset.reason + "=" + g.dataset.count)`); !slices.Equal(reasons, []string{"negative=1"}) {
		t.Errorf("one day: reasons %q", reasons)
	}
	if k := text(`.kpi[data-kpi="conversations"] .kpi-value`); k != "2" {
		t.Errorf("one day: %s conversations", k)
	}

	// An agent gets no dashboard link and, going there anyway, a refusal.
	status := get(t, ctx, chromedp.Evaluate[int](`fetch("/api/me").then(r => r.json()).then(me => fetch("/api/logout",
		{method: "POST", headers: {"X-CSRF-Token": me.csrf, "Content-Type": "application/json"}, body: "{}"})).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != 200 {
		t.Fatalf("sign out: %d", status)
	}
	signIn("anna")
	if hidden := get(t, ctx, chromedp.Evaluate[bool](`document.getElementById("dashboard-link").hidden`)); !hidden {
		t.Error("an agent sees the dashboard link")
	}
	do("agent opens the dashboard", chromedp.Navigate(srv.URL+"/console/dashboard"), chromedp.WaitVisible(chromedp.CSS("#denied")))
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#dash:not([hidden]) svg *").length`)); n != 0 {
		t.Errorf("an agent sees %d chart elements", n)
	}
}

// withQuietFlow is demoGraphs and a flow no conversation entered, whose
// name sorts first: a chain of 14 nodes, some 3,100 px wide when drawn
// at full size.
type withQuietFlow struct{}

func (withQuietFlow) Graphs() []analytics.Graph {
	about := analytics.Graph{Flow: "about", Start: "n0"}
	for i := 0; i < 14; i++ {
		about.Nodes = append(about.Nodes, analytics.GraphNode{ID: "n" + strconv.Itoa(i), Kind: "say"})
		if i > 0 {
			about.Edges = append(about.Edges, analytics.GraphEdge{From: "n" + strconv.Itoa(i-1), To: "n" + strconv.Itoa(i)})
		}
	}
	return append([]analytics.Graph{about}, demoGraphs{}.Graphs()...)
}
