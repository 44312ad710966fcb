package handoff

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-chat/parley/handoff/analytics"
)

// The lead dashboard: analytics of a period drawn as charts, and the
// project's flows drawn as graphs with their per-node funnel. Both API
// routes are for leads and admins; the page itself only shows what they
// answer.

// FlowGraphs gives the dashboard the structure of the project's flows. cmd
// adapts the flow engine's project to it; Graphs is called on every
// request, so after a reload it returns the new flows.
type FlowGraphs interface {
	Graphs() []analytics.Graph
}

// SetFlowGraphs sets where the flow graphs come from (nil: none). Safe to
// call while serving.
func (s *Service) SetFlowGraphs(g FlowGraphs) {
	s.graphs.Lock()
	defer s.graphs.Unlock()
	s.graphs.g = g
}

type graphSource struct {
	sync.Mutex
	g FlowGraphs
}

func (s *Service) flowGraphs() []analytics.Graph {
	s.graphs.Lock()
	g := s.graphs.g
	s.graphs.Unlock()
	if g == nil {
		return []analytics.Graph{}
	}
	out := g.Graphs()
	if out == nil {
		out = []analytics.Graph{}
	}
	return out
}

// maxStatsDays bounds a dashboard period: a year of days is what the
// charts can show, and each request reads the events of the whole period.
const maxStatsDays = 366

// defaultStatsDays is the period the dashboard opens with.
const defaultStatsDays = 14

func (s *Service) dashboardRoutes() []route {
	return []route{
		{"GET", "/console/dashboard", false, s.page("dashboard.html")},
		{"GET", "/console/assets/dashboard.js", false, s.asset("dashboard.js")},
		{"GET", "/api/stats", false, s.apiStats},
		{"GET", "/api/stats.csv", false, s.apiStatsCSV},
		{"GET", "/api/misses", false, s.apiMisses},
		{"GET", "/api/flows", false, s.apiFlows},
	}
}

// liveJSON is the queue right now, as in the Prometheus gauges.
type liveJSON struct {
	Queued            int     `json:"queued"`
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
	AgentsOnline      int     `json:"agents_online"`
}

type statsJSON struct {
	analytics.Report
	Live liveJSON `json:"live"`
}

// apiStats answers GET /api/stats with the report of the request's period
// and filter (statsOptions) and the queue right now.
func (s *Service) apiStats(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.statsReport(w, r)
	if !ok {
		return
	}
	q, oldest, online := s.QueueStats()
	s.writeJSON(w, http.StatusOK, statsJSON{Report: rep,
		Live: liveJSON{Queued: q, OldestWaitSeconds: oldest.Round(time.Second).Seconds(), AgentsOnline: online}})
}

// apiStatsCSV answers GET /api/stats.csv?table=NAME (and the parameters of
// /api/stats) with one table of the same report as a CSV download.
func (s *Service) apiStatsCSV(w http.ResponseWriter, r *http.Request) {
	table := r.URL.Query().Get("table")
	if !slices.Contains(analytics.CSVTables, table) {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("table %q: want one of %s", table, strings.Join(analytics.CSVTables, ", ")))
		return
	}
	rep, ok := s.statsReport(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := analytics.WriteCSV(&buf, rep, table); err != nil {
		s.log.Error().Err(err).Msg("analytics csv")
		writeErr(w, http.StatusInternalServerError, "internal error")
		return
	}
	last := rep.To.AddDate(0, 0, -1)
	name := fmt.Sprintf("parley-%s-%s-%s.csv", strings.ReplaceAll(table, "_", "-"), rep.From.Format(time.DateOnly), last.Format(time.DateOnly))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// statsReport computes the report a dashboard request asks for, or answers
// the error and reports false.
func (s *Service) statsReport(w http.ResponseWriter, r *http.Request) (analytics.Report, bool) {
	if !isLead(sessionFrom(r).agent) {
		writeErr(w, http.StatusForbidden, "the dashboard is for leads and admins")
		return analytics.Report{}, false
	}
	opts, err := s.statsOptions(r.URL.Query())
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return analytics.Report{}, false
	}
	src, ok := storeAs[analytics.Source](s, w, "this store keeps no event log")
	if !ok {
		return analytics.Report{}, false
	}
	rep, err := analytics.Compute(src, opts)
	if err != nil {
		s.log.Error().Err(err).Msg("analytics")
		writeErr(w, http.StatusInternalServerError, "internal error")
		return analytics.Report{}, false
	}
	return rep, true
}

// statsOptions reads a dashboard request:
//
//	from, to            UTC days YYYY-MM-DD, both included (default: the
//	                    last 14 days up to today)
//	group               day (default), week or month
//	channel, flow,      filters; empty or absent: all
//	agent, reason
//	compare             0 to leave out the previous period (default 1)
//
// The business hours are handoff's; the nodes where the bot waits for an
// answer come from the project's flows.
func (s *Service) statsOptions(q url.Values) (analytics.Options, error) {
	from, to, err := statsPeriod(q.Get("from"), q.Get("to"), s.now())
	if err != nil {
		return analytics.Options{}, err
	}
	opts := analytics.Options{From: from, To: to, Now: s.now(), Group: q.Get("group"), Compare: q.Get("compare") != "0",
		Filter:    analytics.Filter{Channel: q.Get("channel"), Flow: q.Get("flow"), Agent: q.Get("agent"), Reason: q.Get("reason")},
		Questions: analytics.QuestionNodes(s.flowGraphs())}
	switch opts.Group {
	case "", analytics.GroupDay, analytics.GroupWeek, analytics.GroupMonth:
	default:
		return analytics.Options{}, fmt.Errorf("group %q: want day, week or month", opts.Group)
	}
	if !s.lead().Hours.Always() {
		opts.Hours = s.lead().Hours
	}
	return opts, nil
}

// apiFlows answers GET /api/flows with the project's flows as graphs.
func (s *Service) apiFlows(w http.ResponseWriter, r *http.Request) {
	if !isLead(sessionFrom(r).agent) {
		writeErr(w, http.StatusForbidden, "the dashboard is for leads and admins")
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"flows": s.flowGraphs()})
}

// statsPeriod reads the from/to days of a dashboard request: [from, to+1d).
func statsPeriod(fromS, toS string, now time.Time) (time.Time, time.Time, error) {
	day := func(name, v string) (time.Time, error) {
		d, err := time.ParseInLocation(time.DateOnly, v, time.UTC)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s %q: want a day YYYY-MM-DD", name, v)
		}
		return d, nil
	}
	n := now.UTC()
	to := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	if toS != "" {
		d, err := day("to", toS)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		to = d.AddDate(0, 0, 1)
	}
	from := to.AddDate(0, 0, -defaultStatsDays)
	if fromS != "" {
		d, err := day("from", fromS)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		from = d
	}
	switch {
	case !from.Before(to):
		return time.Time{}, time.Time{}, errors.New("from must not be after to")
	case to.Sub(from) > maxStatsDays*24*time.Hour:
		return time.Time{}, time.Time{}, fmt.Errorf("a period of at most %d days, please", maxStatsDays)
	}
	return from, to, nil
}
