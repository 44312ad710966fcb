package cmd

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // business hours name time zones; don't depend on the host's zoneinfo

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/handoff/analytics"
	"github.com/parley-chat/parley/store"
)

// loadProject loads the project in dir, or the demo embedded in the binary
// when dir is "". Lint errors come back one per line with positions.
func loadProject(dir string) (*flows.Project, error) {
	if dir == "" {
		p, err := flows.LoadFS(demo.FS())
		if err != nil {
			return nil, fmt.Errorf("embedded demo project: %w", err)
		}
		return p, nil
	}
	p, err := flows.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("flows in %s:\n%w", dir, err)
	}
	return p, nil
}

// engineOptions are the flow engine's options in production: http nodes get
// a client with a timeout (the node's own timeout applies per call too)
// whose connections refuse internal addresses (flows.GuardedTransport),
// the demo's order service (orders.example.com) answered in-process before
// any dial, and the project's secrets from c's file and the environment.
func engineOptions(c FlowHTTPConfig) (flows.Options, error) {
	secrets, err := flows.ReadSecrets(c.SecretsFile, os.Environ())
	if err != nil {
		return flows.Options{}, fmt.Errorf("%w (PARLEY_SECRETS_FILE or flow_http.secrets_file)", err)
	}
	nets, err := flows.ParseNetworks(c.AllowNetworks)
	if err != nil {
		return flows.Options{}, fmt.Errorf("flow_http.allow_networks: %w", err)
	}
	return flows.Options{Secrets: secrets, HTTP: &http.Client{Timeout: 30 * time.Second,
		Transport: demoTransport{next: flows.GuardedTransport(nets), now: time.Now}}}, nil
}

// historyAdapter shows a web chat visitor their conversation from the store.
type historyAdapter struct{ rt *bot.Runtime }

func (h *historyAdapter) History(ctx context.Context, visitor channel.Address, limit int) ([]webchat.Item, error) {
	msgs, err := h.rt.History(ctx, visitor, limit)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	items := make([]webchat.Item, 0, len(msgs))
	for _, m := range msgs {
		it := webchat.Item{ID: fmt.Sprint(m.Seq), Dir: m.Dir, Text: m.Text, At: m.At}
		if m.Dir == "out" && m.Sender != "bot" {
			it.Sender = m.SenderName
		}
		for _, b := range m.Buttons {
			it.Buttons = append(it.Buttons, channel.Button{Text: b.Text, Value: b.Value})
		}
		it.Files = h.rt.MessageFiles(m)
		items = append(items, it)
	}
	return items, nil
}

// projectHandoffConfig is the human queue's configuration for project p:
// what a lead owns from p's handoff: section (docs/flows.md), what an
// operator owns from the server's settings file c. The server file's lead
// keys still work for this release: notes has a line for each one given,
// saying it is deprecated or, where the project gives the same, ignored
// (the project wins). Business hours go as a whole: time zone, hours and
// holidays come from the project when its section names any of them.
func projectHandoffConfig(c HandoffConfig, p *flows.Project) (handoff.Config, []string, error) {
	ph, ok := p.Handoff()
	var notes []string
	note := func(keys string, given, project bool) {
		switch {
		case given && project:
			notes = append(notes, fmt.Sprintf("handoff %s in the server's settings file is ignored: the project's parley.yaml sets it (handoff: section); remove it from the server file", keys))
		case given:
			notes = append(notes, fmt.Sprintf("handoff %s in the server's settings file is deprecated: move it to the project's parley.yaml, under handoff: (docs/flows.md); the next release ignores it", keys))
		}
	}
	note("time_zone, hours and holidays", c.TimeZone != "" || len(c.Hours) > 0 || len(c.Holidays) > 0, ok && ph.HoursSet)
	note("csat", c.CSAT != nil, ok && ph.CSAT != nil)
	note("texts", len(c.Texts) > 0, ok && ph.Texts != nil)
	note("canned", len(c.Canned) > 0, ok && ph.CannedSet)
	switch {
	case ok && ph.HoursSet:
		c.TimeZone, c.Hours, c.Holidays = ph.TimeZone, ph.Hours, ph.Holidays
	case c.TimeZone == "":
		c.TimeZone = legacyHoursZone
	}
	if ok && ph.CSAT != nil {
		c.CSAT = ph.CSAT
	}
	if ok && ph.CannedSet {
		c.Canned = nil
		for _, r := range ph.Canned {
			c.Canned = append(c.Canned, CannedReply{ID: r.ID, Title: r.Title, Text: r.Text, Lang: r.Lang})
		}
	}
	if ok && ph.Texts != nil {
		c.Texts = nil
	}
	hc, err := handoffConfig(c, p.DefaultLang)
	if err != nil {
		where := "handoff in the server's settings file"
		if ok && ph.HoursSet {
			where = flows.ProjectFile + " handoff"
		}
		return handoff.Config{}, nil, fmt.Errorf("%s: %w", where, err)
	}
	hc.CSATEvery = ok && ph.CSATAlways
	hc.VarLabels, _ = p.AgentVars()
	if ok && ph.Texts != nil {
		hc.Texts = make(map[string]handoff.Texts, len(ph.Texts))
		for lang, byKey := range ph.Texts {
			var t handoff.Texts
			for key, v := range byKey {
				dst := noticeField(&t, key)
				if dst == nil {
					return handoff.Config{}, nil, fmt.Errorf("%s handoff.texts: the queue has no notice %q", flows.ProjectFile, key)
				}
				*dst = v
			}
			hc.Texts[lang] = t
		}
	}
	return hc, notes, nil
}

// applyHandoffChange gives the running queue the lead's settings of next
// (hours, CSAT, notices, canned replies, variable labels: the project's
// handoff: and vars:) when they differ from running's; the operator's part
// from the server's file c stays. It reports whether next's settings are
// in force (false: they could not be applied, the old ones stay, logged).
func applyHandoffChange(hs *handoff.Service, c HandoffConfig, running, next *flows.Project, log zerolog.Logger) bool {
	if !handoffChanged(running, next) {
		return true
	}
	hc, _, err := projectHandoffConfig(c, next)
	if err == nil {
		err = hs.SetLeadConfig(hc.Lead())
	}
	if err != nil {
		log.Error().Err(err).Msg("the project's handoff: section changed but cannot be applied: the human queue keeps the previous one")
		return false
	}
	log.Info().Msg("the project's handoff settings applied (hours, csat, notices, canned replies, variable labels)")
	return true
}

// handoffChanged reports whether next's handoff: or vars: section differs
// from the one the running queue was configured from.
func handoffChanged(running, next *flows.Project) bool {
	a, okA := running.Handoff()
	b, okB := next.Handoff()
	la, _ := running.AgentVars()
	lb, _ := next.AgentVars()
	return okA != okB || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(la, lb)
}

// legacyHoursZone is the time zone of business hours given in the server's
// settings file without one (it was the default there).
const legacyHoursZone = "Europe/Moscow"

// noticeField is the field of t that the project's notice key words (the
// keys of flows.HandoffNotices); nil for another key.
func noticeField(t *handoff.Texts, key string) *string {
	switch key {
	case "queued":
		return &t.Queued
	case "queued_no_estimate":
		return &t.QueuedNoEstimate
	case "out_of_hours":
		return &t.OutOfHours
	case "no_agent":
		return &t.NoAgent
	case "assigned":
		return &t.Assigned
	case "reopened":
		return &t.Reopened
	case "resolved":
		return &t.Resolved
	case "csat_question":
		return &t.CSATQuestion
	case "csat_thanks":
		return &t.CSATThanks
	case "minutes":
		return &t.Minutes
	case "opens_today":
		return &t.OpensToday
	case "opens_tomorrow":
		return &t.OpensTomorrow
	case "opens_on":
		return &t.OpensOn
	}
	return nil
}

// handoffConfig maps the server file's handoff settings onto the human
// queue's configuration; lang is the project's default language (the
// console's and the customer notices' default).
func handoffConfig(c HandoffConfig, lang string) (handoff.Config, error) {
	hours, err := handoff.ParseHours(c.TimeZone, c.Hours, c.Holidays)
	if err != nil {
		return handoff.Config{}, err
	}
	csat := c.CSAT == nil || *c.CSAT
	hc := handoff.Config{
		Hours: hours, ReopenWindow: c.ReopenWindow, AutoAssign: c.AutoAssign,
		Capacity: c.Capacity, CSAT: csat, DefaultLang: lang, SecureCookies: c.SecureCookies,
		SessionMaxAge: c.SessionMaxAge, OneTimeTTL: c.OneTimePasswordTTL,
		AddressBurst: c.SignIn.AddressBurst, AddressEvery: c.SignIn.AddressEvery,
		MaxHashing: c.SignIn.MaxHashing, HashWait: c.SignIn.HashWait,
	}
	for _, r := range c.Canned {
		hc.Canned = append(hc.Canned, handoff.Canned{ID: r.ID, Title: r.Title, Text: r.Text, Lang: r.Lang})
	}
	if len(c.Texts) > 0 {
		hc.Texts = make(map[string]handoff.Texts, len(c.Texts))
		for lang, t := range c.Texts {
			hc.Texts[lang] = handoff.Texts{
				Queued: t.Queued, QueuedNoEstimate: t.QueuedNoEstimate, OutOfHours: t.OutOfHours,
				NoAgent: t.NoAgent, Assigned: t.Assigned, Reopened: t.Reopened, Resolved: t.Resolved,
				CSATQuestion: t.CSATQuestion, CSATThanks: t.CSATThanks,
			}
		}
	}
	return hc, nil
}

func registerQueueMetrics(reg prometheus.Registerer, h *handoff.Service) {
	q := &queueGauges{stats: h.QueueStats, now: time.Now}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_queue_length", Help: "Tickets waiting in the queue."},
			func() float64 { n, _, _ := q.read(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_queue_oldest_wait_seconds", Help: "Wait of the oldest queued ticket."},
			func() float64 { _, w, _ := q.read(); return w.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parley_agents_online", Help: "Agents whose console is online."},
			func() float64 { _, _, n := q.read(); return float64(n) }),
	)
}

// queueGauges reads the queue once for the three gauges of a scrape, and
// at most once a queueGaugesEvery however often /metrics is asked.
type queueGauges struct {
	stats func() (int, time.Duration, int)
	now   func() time.Time

	mu     sync.Mutex
	at     time.Time
	queued int
	oldest time.Duration
	online int
}

const queueGaugesEvery = 5 * time.Second

func (q *queueGauges) read() (int, time.Duration, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now := q.now(); q.at.IsZero() || now.Sub(q.at) >= queueGaugesEvery {
		q.queued, q.oldest, q.online = q.stats()
		q.at = now
	}
	return q.queued, q.oldest, q.online
}

// metricsAuth asks for "Authorization: Bearer TOKEN" when a metrics token
// is set (metrics_token, PARLEY_METRICS_TOKEN); without one /metrics is
// open, for a scraper on a private network.
func metricsAuth(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the metrics token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ensureDemoAgent creates the agent "demo" with a one-time password when the
// database has no agent yet, and prints the password once. On a later start
// while "demo" still has not chosen a password, it says whether the printed
// one still works and how to get a fresh one (the password is not kept, so
// it cannot be printed again).
func ensureDemoAgent(ctx context.Context, db *store.DB, stdio IO, ttl time.Duration) error {
	agents, err := db.Agents()
	if err != nil {
		return err
	}
	if len(agents) > 0 {
		for _, a := range agents {
			if o, ok := handoff.OneTimeOf(a, ttl); ok && a.Name == "demo" {
				printDemoPending(stdio.Stdout, o, db.Path(), time.Now())
			}
		}
		return nil
	}
	pw := handoff.GeneratePassword()
	if _, err := handoff.AddAgent(ctx, db, handoff.NewAgent{Name: "demo", DisplayName: "Demo Agent", Role: handoff.RoleLead, Password: pw, OneTime: true}, 0, time.Now()); err != nil {
		return fmt.Errorf("demo agent: %w", err)
	}
	printDemoAgent(stdio.Stdout, pw)
	return nil
}

func printDemoPending(w io.Writer, o handoff.OneTime, dbPath string, now time.Time) {
	state := "its one-time password printed at " + o.Issued.Local().Format("2006-01-02 15:04") + " works until " + o.Expires.Local().Format("2006-01-02 15:04")
	switch {
	case !o.Spent.IsZero():
		state = "its one-time password was used to sign in at " + o.Spent.Local().Format("2006-01-02 15:04") + " (that console may still choose a password)"
	case !now.Before(o.Expires):
		state = "its one-time password expired at " + o.Expires.Local().Format("2006-01-02 15:04")
	}
	fmt.Fprintf(w, "parley: agent \"demo\" has not chosen a password yet; %s. For a new one, stop the server and run: parley agents add demo --role lead --reset --db %s\n", state, dbPath)
}

func printDemoAgent(w io.Writer, pw string) {
	fmt.Fprintf(w, "parley: created agent \"demo\" (role lead) with one-time password: %s (sign in at /console/ and choose your own)\n", pw)
}

// flowGraphs shows the lead dashboard the serving project's flows; a reload
// swaps the project it reads.
type flowGraphs struct{ p atomic.Pointer[flows.Project] }

func (g *flowGraphs) Graphs() []analytics.Graph {
	p := g.p.Load()
	if p == nil {
		return nil
	}
	return analyticsGraphs(p)
}

// analyticsGraphs is every flow of p as the dashboard and the reports take
// it.
func analyticsGraphs(p *flows.Project) []analytics.Graph {
	fgs, _ := projectGraphs(p, "") // every flow: no error
	var out []analytics.Graph
	for _, fg := range fgs {
		ag := analytics.Graph{Flow: fg.Flow, Start: fg.Start}
		for _, n := range fg.Nodes {
			ag.Nodes = append(ag.Nodes, analytics.GraphNode{ID: n.ID, Kind: n.Kind, Label: n.Label})
		}
		for _, e := range fg.Edges {
			ag.Edges = append(ag.Edges, analytics.GraphEdge{From: e.From, To: e.To, Label: e.Label})
		}
		out = append(out, ag)
	}
	return out
}
