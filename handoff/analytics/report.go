package analytics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/store"
)

// Source is what the report reads; *store.DB implements it.
type Source interface {
	Events(from, to time.Time, fn func(store.Event) error) error
	Tickets(status string) ([]store.Ticket, error)
}

// Options bound and tune a report.
type Options struct {
	// From and To bound the report: conversations that started, and
	// tickets created, in [From, To). Zero means unbounded.
	From, To time.Time
	// Now is the end of the data (default time.Now()): a conversation
	// younger than Idle at Now may still go on and is reported open.
	Now time.Time
	// Idle is the silence that ends a conversation, and the window in which
	// a return makes an ended conversation "returned" (default 24 h).
	Idle time.Duration
	// Location sets where days begin (default UTC).
	Location *time.Location
}

// DefaultIdle is the silence after which a conversation is over.
const DefaultIdle = 24 * time.Hour

// maxFilledDays bounds the empty days added to ByDay so a chart has no
// gaps; a longer span lists only the days with data.
const maxFilledDays = 400

// Unknown is the key of a row whose dimension is not known (a conversation
// without a language, a ticket without a channel).
const Unknown = "unknown"

// Report is the analytics of a period. Its top-level figures are the
// totals; the By* rows break them down.
type Report struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	Figures
	ByDay     []Row      `json:"by_day"`
	ByFlow    []Row      `json:"by_flow"`
	ByChannel []Row      `json:"by_channel"`
	ByLang    []Row      `json:"by_lang"`
	Funnels   []Funnel   `json:"funnels"`
	Agents    []AgentRow `json:"agents"`
}

// Row is the figures of one day ("2026-11-23"), flow, channel or language.
type Row struct {
	Key string `json:"key"`
	Figures
}

// Figures are the numbers of a set of conversations and tickets. Pointers
// are nil (JSON null) when there is nothing to compute them from.
type Figures struct {
	Conversations    int            `json:"conversations"`
	Open             int            `json:"open"`
	Contained        int            `json:"contained"`
	HandedOff        int            `json:"handed_off"`
	Abandoned        int            `json:"abandoned"`
	Returned         int            `json:"returned"`
	ContainmentRate  *float64       `json:"containment_rate"`
	HandoffRate      *float64       `json:"handoff_rate"`
	HandoffsByReason map[string]int `json:"handoffs_by_reason"`
	Messages         int            `json:"messages"`
	MessagesIn       int            `json:"messages_in"`
	MessagesOut      int            `json:"messages_out"`
	BotTurns         int            `json:"bot_turns"`
	Fallbacks        int            `json:"fallbacks"`
	FallbackRate     *float64       `json:"fallback_rate"`

	Tickets                 int            `json:"tickets"`
	TicketsResolved         int            `json:"tickets_resolved"`
	AFRTMedianSeconds       *float64       `json:"afrt_median_seconds"`
	AFRTP90Seconds          *float64       `json:"afrt_p90_seconds"`
	ResolutionMedianSeconds *float64       `json:"resolution_median_seconds"`
	ResolutionP90Seconds    *float64       `json:"resolution_p90_seconds"`
	CSATAverage             *float64       `json:"csat_average"`
	CSATResponses           int            `json:"csat_responses"`
	CSATDistribution        map[string]int `json:"csat_distribution"` // "1".."5"
}

// Funnel is how conversations went through the nodes of one flow.
type Funnel struct {
	Flow          string     `json:"flow"`
	Conversations int        `json:"conversations"` // entered the flow
	Nodes         []NodeStat `json:"nodes"`         // most entered first
}

// NodeStat is one node of a Funnel (see the package documentation).
type NodeStat struct {
	Node        string   `json:"node"`
	Entered     int      `json:"entered"`
	Fallbacks   int      `json:"fallbacks"`
	Handoffs    int      `json:"handoffs"`
	DroppedOff  int      `json:"dropped_off"`
	Abandoned   int      `json:"abandoned"`
	DropOffRate *float64 `json:"drop_off_rate"`
}

// AgentRow is the tickets of the agent holding them last.
type AgentRow struct {
	Agent             string   `json:"agent"`
	Tickets           int      `json:"tickets"`
	Resolved          int      `json:"resolved"`
	AFRTMedianSeconds *float64 `json:"afrt_median_seconds"`
	CSATAverage       *float64 `json:"csat_average"`
	CSATResponses     int      `json:"csat_responses"`
}

// Compute reads the events and tickets of the period from src and builds
// the report. Events up to Idle before From and after To are read too, so
// that a conversation that started just before the period is not cut in
// two and the outcome of one that started just before To is known.
func Compute(src Source, opts Options) (Report, error) {
	if src == nil {
		return Report{}, errors.New("analytics: nil source")
	}
	opts = opts.withDefaults()
	if !opts.From.IsZero() && !opts.To.IsZero() && !opts.From.Before(opts.To) {
		return Report{}, fmt.Errorf("analytics: period from %s to %s is empty", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	var lo, hi time.Time
	if !opts.From.IsZero() {
		lo = opts.From.Add(-opts.Idle)
	}
	dataEnd := opts.Now
	if !opts.To.IsZero() {
		hi = opts.To.Add(opts.Idle)
		if hi.Before(dataEnd) {
			dataEnd = hi
		}
	}
	seg := newSegmenter(opts.Idle)
	if err := src.Events(lo, hi, seg.add); err != nil {
		return Report{}, fmt.Errorf("analytics: read events: %w", err)
	}
	seg.finish(dataEnd)
	tickets, err := src.Tickets("")
	if err != nil {
		return Report{}, fmt.Errorf("analytics: read tickets: %w", err)
	}
	return build(seg, tickets, opts), nil
}

func (o Options) withDefaults() Options {
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

func (o Options) inPeriod(t time.Time) bool {
	return (o.From.IsZero() || !t.Before(o.From)) && (o.To.IsZero() || t.Before(o.To))
}

// ticketRec is a ticket with the dimensions it is reported under.
type ticketRec struct {
	t       store.Ticket
	day     string
	channel string
	lang    string
	flows   []string
}

func build(seg *segmenter, tickets []store.Ticket, opts Options) Report {
	var convs []*conversation
	for _, c := range seg.convs {
		if opts.inPeriod(c.start) {
			convs = append(convs, c)
		}
	}
	day := func(t time.Time) string { return t.In(opts.Location).Format(time.DateOnly) }
	var recs []ticketRec
	for _, t := range tickets {
		if !opts.inPeriod(t.CreatedAt) {
			continue
		}
		r := ticketRec{t: t, day: day(t.CreatedAt), lang: Unknown}
		r.channel, _, _ = strings.Cut(t.Address, ":")
		if c := seg.byTicket[t.ID]; c != nil {
			r.day, r.channel, r.lang, r.flows = day(c.start), c.channel, langOf(c), c.flows
		}
		if r.channel == "" {
			r.channel = Unknown
		}
		recs = append(recs, r)
	}

	rep := Report{From: opts.From, To: opts.To, Figures: figures(convs, recs)}
	rep.ByDay = rows(convs, recs,
		func(c *conversation) []string { return []string{day(c.start)} },
		func(r ticketRec) []string { return []string{r.day} })
	rep.ByDay = fillDays(rep.ByDay, opts)
	rep.ByFlow = rows(convs, recs,
		func(c *conversation) []string { return c.flows },
		func(r ticketRec) []string { return r.flows })
	rep.ByChannel = rows(convs, recs,
		func(c *conversation) []string { return []string{orUnknown(c.channel)} },
		func(r ticketRec) []string { return []string{r.channel} })
	rep.ByLang = rows(convs, recs,
		func(c *conversation) []string { return []string{langOf(c)} },
		func(r ticketRec) []string { return []string{r.lang} })
	rep.Funnels = funnels(convs)
	rep.Agents = agents(recs)
	return rep
}

func langOf(c *conversation) string { return orUnknown(c.lang) }

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// rows groups conversations and tickets by key; a key function may return
// several keys (flows) or none.
func rows(convs []*conversation, recs []ticketRec, ck func(*conversation) []string, tk func(ticketRec) []string) []Row {
	cg, tg := map[string][]*conversation{}, map[string][]ticketRec{}
	for _, c := range convs {
		for _, k := range ck(c) {
			cg[k] = append(cg[k], c)
		}
	}
	for _, r := range recs {
		for _, k := range tk(r) {
			tg[k] = append(tg[k], r)
		}
	}
	keys := make([]string, 0, len(cg)+len(tg))
	for k := range cg {
		keys = append(keys, k)
	}
	for k := range tg {
		if _, ok := cg[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]Row, 0, len(keys))
	for _, k := range keys {
		out = append(out, Row{Key: k, Figures: figures(cg[k], tg[k])})
	}
	return out
}

// fillDays adds the days of the period without data, so charts over time
// show the gaps.
func fillDays(in []Row, opts Options) []Row {
	if len(in) == 0 && (opts.From.IsZero() || opts.To.IsZero()) {
		return in
	}
	first, last := opts.From, opts.To.Add(-time.Nanosecond)
	if opts.From.IsZero() {
		first, _ = time.ParseInLocation(time.DateOnly, in[0].Key, opts.Location)
	}
	if opts.To.IsZero() {
		last, _ = time.ParseInLocation(time.DateOnly, in[len(in)-1].Key, opts.Location)
	}
	first, last = first.In(opts.Location), last.In(opts.Location)
	d0 := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, opts.Location)
	d1 := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, opts.Location)
	if d1.Before(d0) || d1.Sub(d0) > maxFilledDays*24*time.Hour {
		return in
	}
	have := map[string]Row{}
	for _, r := range in {
		have[r.Key] = r
	}
	var out []Row
	for d := d0; !d.After(d1); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		r, ok := have[k]
		if !ok {
			r = Row{Key: k, Figures: figures(nil, nil)}
		}
		out = append(out, r)
		delete(have, k)
	}
	for _, r := range have { // outside the period (cannot happen with a bounded one)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Row) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func figures(convs []*conversation, recs []ticketRec) Figures {
	f := Figures{HandoffsByReason: map[string]int{}, CSATDistribution: map[string]int{}}
	for i := 1; i <= 5; i++ {
		f.CSATDistribution[strconv.Itoa(i)] = 0
	}
	for _, c := range convs {
		f.Conversations++
		switch c.outcome {
		case OutcomeOpen:
			f.Open++
		case OutcomeContained:
			f.Contained++
		case OutcomeHandedOff:
			f.HandedOff++
			f.HandoffsByReason[orUnknown(c.reason)]++
		case OutcomeAbandoned:
			f.Abandoned++
		case OutcomeReturned:
			f.Returned++
		}
		f.MessagesIn += c.in
		f.MessagesOut += c.out
		f.BotTurns += c.botTurns
		f.Fallbacks += c.nFallbacks
	}
	f.Messages = f.MessagesIn + f.MessagesOut
	closed := f.Conversations - f.Open
	f.ContainmentRate = ratio(f.Contained, closed)
	f.HandoffRate = ratio(f.HandedOff, closed)
	f.FallbackRate = ratio(f.Fallbacks, f.BotTurns)

	var afrt, res, csat []float64
	for _, r := range recs {
		t := r.t
		f.Tickets++
		if !t.FirstReplyAt.IsZero() {
			afrt = append(afrt, t.FirstReplyAt.Sub(t.CreatedAt).Seconds())
		}
		if t.Status == store.TicketResolved && !t.ResolvedAt.IsZero() {
			f.TicketsResolved++
			res = append(res, t.ResolvedAt.Sub(t.CreatedAt).Seconds())
		}
		if t.CSAT >= 1 && t.CSAT <= 5 {
			csat = append(csat, float64(t.CSAT))
			f.CSATDistribution[strconv.Itoa(t.CSAT)]++
		}
	}
	f.AFRTMedianSeconds, f.AFRTP90Seconds = quantile(afrt, 0.5), quantile(afrt, 0.9)
	f.ResolutionMedianSeconds, f.ResolutionP90Seconds = quantile(res, 0.5), quantile(res, 0.9)
	f.CSATResponses = len(csat)
	f.CSATAverage = mean(csat)
	return f
}

func funnels(convs []*conversation) []Funnel {
	type acc struct {
		convs int
		nodes map[string]*NodeStat
	}
	byFlow := map[string]*acc{}
	node := func(k nodeKey) *NodeStat {
		a := byFlow[k.flow]
		if a == nil {
			a = &acc{nodes: map[string]*NodeStat{}}
			byFlow[k.flow] = a
		}
		n := a.nodes[k.node]
		if n == nil {
			n = &NodeStat{Node: k.node}
			a.nodes[k.node] = n
		}
		return n
	}
	for _, c := range convs {
		for k := range c.entered {
			node(k).Entered++
		}
		for k, n := range c.fallbacks {
			node(k).Fallbacks += n
		}
		for k, n := range c.handoffAt {
			node(k).Handoffs += n
		}
		for _, f := range c.flows {
			byFlow[f].convs++
		}
		if c.closed() && !c.ended && !c.handoff && c.hasNode {
			n := node(c.lastNode)
			n.DroppedOff++
			if c.outcome == OutcomeAbandoned {
				n.Abandoned++
			}
		}
	}
	out := make([]Funnel, 0, len(byFlow))
	for name, a := range byFlow {
		fn := Funnel{Flow: name, Conversations: a.convs}
		for _, n := range a.nodes {
			n.DropOffRate = ratio(n.DroppedOff, n.Entered)
			fn.Nodes = append(fn.Nodes, *n)
		}
		slices.SortFunc(fn.Nodes, func(x, y NodeStat) int {
			return cmp.Or(cmp.Compare(y.Entered, x.Entered), cmp.Compare(x.Node, y.Node))
		})
		out = append(out, fn)
	}
	slices.SortFunc(out, func(x, y Funnel) int { return cmp.Compare(x.Flow, y.Flow) })
	return out
}

func agents(recs []ticketRec) []AgentRow {
	type acc struct {
		row        AgentRow
		afrt, csat []float64
	}
	by := map[string]*acc{}
	for _, r := range recs {
		t := r.t
		if t.AgentID == "" {
			continue
		}
		a := by[t.AgentID]
		if a == nil {
			a = &acc{row: AgentRow{Agent: t.AgentID}}
			by[t.AgentID] = a
		}
		a.row.Tickets++
		if t.Status == store.TicketResolved {
			a.row.Resolved++
		}
		if !t.FirstReplyAt.IsZero() {
			a.afrt = append(a.afrt, t.FirstReplyAt.Sub(t.CreatedAt).Seconds())
		}
		if t.CSAT >= 1 && t.CSAT <= 5 {
			a.csat = append(a.csat, float64(t.CSAT))
		}
	}
	out := make([]AgentRow, 0, len(by))
	for _, a := range by {
		a.row.AFRTMedianSeconds = quantile(a.afrt, 0.5)
		a.row.CSATAverage = mean(a.csat)
		a.row.CSATResponses = len(a.csat)
		out = append(out, a.row)
	}
	slices.SortFunc(out, func(x, y AgentRow) int {
		return cmp.Or(cmp.Compare(y.Tickets, x.Tickets), cmp.Compare(x.Agent, y.Agent))
	})
	return out
}

// quantile interpolates linearly between the closest ranks (numpy's
// default, R's type 7); nil for no data.
func quantile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	v := s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
	return round(v)
}

func mean(xs []float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return round(sum / float64(len(xs)))
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	return round(float64(n) / float64(d))
}

// round keeps four decimals: enough for a rate, and JSON stays readable.
func round(v float64) *float64 {
	r := math.Round(v*1e4) / 1e4
	return &r
}
