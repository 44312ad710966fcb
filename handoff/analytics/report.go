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
	// Group is the time grouping of Report.ByTime: GroupDay (default),
	// GroupWeek (weeks begin on Monday) or GroupMonth.
	Group string
	// Compare adds Report.Previous, the figures of the period of the same
	// length just before [From, To) with the same filter; it needs both
	// bounds.
	Compare bool
	// Filter keeps the conversations and tickets that match all its fields.
	Filter Filter
	// Questions are the nodes at which the bot asks and waits for an
	// answer (QuestionNodes of the project's graphs): a customer who leaves
	// there is abandoned, not contained.
	Questions map[NodeRef]bool
	// Hours, when set, adds the business-hours variants of first response
	// time and queue wait.
	Hours BusinessHours
}

// Filter narrows a report; an empty field matches everything. Channel,
// flow and reason are as in the rows (Unknown matches the rows of that
// name); agent is the agent holding a ticket.
type Filter struct {
	Channel string `json:"channel,omitempty"`
	Flow    string `json:"flow,omitempty"`
	Agent   string `json:"agent,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// BusinessHours counts working time; handoff.Hours implements it.
type BusinessHours interface {
	// OpenBetween is the time within business hours in [from, to).
	OpenBetween(from, to time.Time) time.Duration
}

// Groupings of Report.ByTime.
const (
	GroupDay   = "day"
	GroupWeek  = "week"
	GroupMonth = "month"
)

// QuestionNodes lists the nodes of kind "ask" of the graphs: where the bot
// asked a question and waits for its answer.
func QuestionNodes(graphs []Graph) map[NodeRef]bool {
	out := map[NodeRef]bool{}
	for _, g := range graphs {
		for _, n := range g.Nodes {
			if n.Kind == "ask" {
				out[NodeRef{g.Flow, n.ID}] = true
			}
		}
	}
	return out
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
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Now    time.Time `json:"now"`
	Filter Filter    `json:"filter"`
	Figures
	// Headline is the figures a lead reads first, each with the previous
	// period's value and the change (see Headline).
	Headline []HeadlineFigure `json:"headline"`
	// Previous is the totals of the period before (Options.Compare).
	Previous     *Figures   `json:"previous"`
	PreviousFrom time.Time  `json:"previous_from,omitzero"`
	Group        string     `json:"group"`
	ByTime       []Row      `json:"by_time"` // by Group
	ByDay        []Row      `json:"by_day"`
	ByReason     []Row      `json:"by_reason"` // handed-off conversations and tickets by reason
	Comments     []Comment  `json:"csat_comments"`
	ByFlow       []Row      `json:"by_flow"`
	ByChannel    []Row      `json:"by_channel"`
	ByLang       []Row      `json:"by_lang"`
	Funnels      []Funnel   `json:"funnels"`
	Agents       []AgentRow `json:"agents"`
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
	AbandonRate      *float64       `json:"abandon_rate"`
	Provisional      Provisional    `json:"provisional"`
	HandoffsByReason map[string]int `json:"handoffs_by_reason"`
	Messages         int            `json:"messages"`
	MessagesIn       int            `json:"messages_in"`
	MessagesOut      int            `json:"messages_out"`
	BotTurns         int            `json:"bot_turns"`
	Fallbacks        int            `json:"fallbacks"`
	FallbackRate     *float64       `json:"fallback_rate"`

	Tickets           int      `json:"tickets"`
	TicketsResolved   int      `json:"tickets_resolved"`
	TicketsWaiting    int      `json:"tickets_waiting"` // queued, no agent yet
	AFRTMedianSeconds *float64 `json:"afrt_median_seconds"`
	AFRTP90Seconds    *float64 `json:"afrt_p90_seconds"`
	// From the customer's first message of the conversation the ticket
	// holds, and both within business hours only (Options.Hours).
	AFRTCustomerMedianSeconds         *float64       `json:"afrt_customer_median_seconds"`
	AFRTCustomerP90Seconds            *float64       `json:"afrt_customer_p90_seconds"`
	AFRTBusinessMedianSeconds         *float64       `json:"afrt_business_median_seconds"`
	AFRTBusinessP90Seconds            *float64       `json:"afrt_business_p90_seconds"`
	AFRTCustomerBusinessMedianSeconds *float64       `json:"afrt_customer_business_median_seconds"`
	AFRTCustomerBusinessP90Seconds    *float64       `json:"afrt_customer_business_p90_seconds"`
	QueueWaitMedianSeconds            *float64       `json:"queue_wait_median_seconds"`
	QueueWaitP90Seconds               *float64       `json:"queue_wait_p90_seconds"`
	QueueWaitBusinessMedianSeconds    *float64       `json:"queue_wait_business_median_seconds"`
	QueueWaitBusinessP90Seconds       *float64       `json:"queue_wait_business_p90_seconds"`
	ResolutionMedianSeconds           *float64       `json:"resolution_median_seconds"`
	ResolutionP90Seconds              *float64       `json:"resolution_p90_seconds"`
	CSATAverage                       *float64       `json:"csat_average"`
	CSATResponses                     int            `json:"csat_responses"`
	CSATDistribution                  map[string]int `json:"csat_distribution"` // "1".."5"
}

// Provisional counts every conversation, the open ones with the outcome
// they would have if the customer wrote nothing more: the figure for a day
// that is still running. Rates are over all conversations.
type Provisional struct {
	Contained       int      `json:"contained"`
	HandedOff       int      `json:"handed_off"`
	Abandoned       int      `json:"abandoned"`
	Returned        int      `json:"returned"`
	ContainmentRate *float64 `json:"containment_rate"`
	HandoffRate     *float64 `json:"handoff_rate"`
	AbandonRate     *float64 `json:"abandon_rate"`
}

// Comment is a sentence a customer added to a CSAT rating.
type Comment struct {
	At      time.Time `json:"at"`
	Ticket  uint64    `json:"ticket"`
	Score   int       `json:"score"`
	Agent   string    `json:"agent"`
	Channel string    `json:"channel"`
	Text    string    `json:"text"`
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
	switch opts.Group {
	case GroupDay, GroupWeek, GroupMonth:
	default:
		return Report{}, fmt.Errorf("analytics: grouping %q: want day, week or month", opts.Group)
	}
	var lo, hi time.Time
	if !opts.From.IsZero() {
		lo = opts.From.Add(-opts.Idle)
		if p, ok := opts.previous(); ok {
			lo = p.From.Add(-opts.Idle)
		}
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
	seg.finish(dataEnd, opts.Questions)
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
	if o.Group == "" {
		o.Group = GroupDay
	}
	return o
}

// previous is the options of the period just before, of the same length.
func (o Options) previous() (Options, bool) {
	if !o.Compare || o.From.IsZero() || o.To.IsZero() {
		return Options{}, false
	}
	p := o
	p.From, p.To = o.From.Add(-o.To.Sub(o.From)), o.From
	return p, true
}

func (o Options) inPeriod(t time.Time) bool {
	return (o.From.IsZero() || !t.Before(o.From)) && (o.To.IsZero() || t.Before(o.To))
}

// ticketRec is a ticket with the dimensions it is reported under.
type ticketRec struct {
	t       store.Ticket
	day     time.Time // start of its conversation, else its creation
	channel string
	lang    string
	flows   []string
	// custFirst is the customer's first message of the conversation the
	// ticket was opened in (zero when no conversation is known).
	custFirst time.Time
}

// selection is the conversations and tickets of one period and filter.
type selection struct {
	convs []*conversation
	recs  []ticketRec
}

func selectData(seg *segmenter, all []ticketRec, opts Options) selection {
	var sel selection
	agentOf := map[uint64]string{}
	for _, r := range all {
		agentOf[r.t.ID] = r.t.AgentID
	}
	f := opts.Filter
	for _, c := range seg.convs {
		if opts.inPeriod(c.start) && f.conv(c, agentOf) {
			sel.convs = append(sel.convs, c)
		}
	}
	for _, r := range all {
		if opts.inPeriod(r.t.CreatedAt) && f.ticket(r) {
			sel.recs = append(sel.recs, r)
		}
	}
	return sel
}

func (f Filter) conv(c *conversation, agentOf map[uint64]string) bool {
	switch {
	case f.Channel != "" && orUnknown(c.channel) != f.Channel,
		f.Flow != "" && !c.hasFlow(f.Flow),
		f.Reason != "" && (!c.handoff || orUnknown(c.reason) != f.Reason):
		return false
	case f.Agent != "":
		for _, id := range c.tickets {
			if agentOf[id] == f.Agent {
				return true
			}
		}
		return false
	}
	return true
}

func (f Filter) ticket(r ticketRec) bool {
	return (f.Channel == "" || r.channel == f.Channel) &&
		(f.Flow == "" || slices.Contains(r.flows, f.Flow)) &&
		(f.Reason == "" || orUnknown(r.t.Reason) == f.Reason) &&
		(f.Agent == "" || r.t.AgentID == f.Agent)
}

func build(seg *segmenter, tickets []store.Ticket, opts Options) Report {
	all := make([]ticketRec, 0, len(tickets))
	for _, t := range tickets {
		r := ticketRec{t: t, day: t.CreatedAt, lang: Unknown}
		r.channel, _, _ = strings.Cut(t.Address, ":")
		if c := seg.byTicket[t.ID]; c != nil {
			r.day, r.channel, r.lang, r.flows, r.custFirst = c.start, c.channel, langOf(c), c.flows, c.start
		}
		if r.channel == "" {
			r.channel = Unknown
		}
		all = append(all, r)
	}
	sel := selectData(seg, all, opts)
	convs, recs := sel.convs, sel.recs
	b := builder{hours: opts.Hours}

	rep := Report{From: opts.From, To: opts.To, Now: opts.Now, Filter: opts.Filter, Group: opts.Group,
		Figures: b.figures(convs, recs)}
	if p, ok := opts.previous(); ok {
		ps := selectData(seg, all, p)
		prev := b.figures(ps.convs, ps.recs)
		rep.Previous, rep.PreviousFrom = &prev, p.From
	}
	rep.Headline = Headline(rep.Figures, rep.Previous)
	day := func(t time.Time) string { return groupKey(t, opts.Location, GroupDay) }
	rep.ByDay = b.rows(convs, recs,
		func(c *conversation) []string { return []string{day(c.start)} },
		func(r ticketRec) []string { return []string{day(r.day)} })
	rep.ByDay = b.fill(rep.ByDay, opts, GroupDay)
	rep.ByTime = rep.ByDay
	if opts.Group != GroupDay {
		key := func(t time.Time) string { return groupKey(t, opts.Location, opts.Group) }
		rep.ByTime = b.rows(convs, recs,
			func(c *conversation) []string { return []string{key(c.start)} },
			func(r ticketRec) []string { return []string{key(r.day)} })
		rep.ByTime = b.fill(rep.ByTime, opts, opts.Group)
	}
	rep.ByFlow = b.rows(convs, recs,
		func(c *conversation) []string { return c.flows },
		func(r ticketRec) []string { return r.flows })
	rep.ByChannel = b.rows(convs, recs,
		func(c *conversation) []string { return []string{orUnknown(c.channel)} },
		func(r ticketRec) []string { return []string{r.channel} })
	rep.ByLang = b.rows(convs, recs,
		func(c *conversation) []string { return []string{langOf(c)} },
		func(r ticketRec) []string { return []string{r.lang} })
	rep.ByReason = b.rows(convs, recs,
		func(c *conversation) []string {
			if c.outcome != OutcomeHandedOff {
				return nil
			}
			return []string{orUnknown(c.reason)}
		},
		func(r ticketRec) []string { return []string{orUnknown(r.t.Reason)} })
	rep.Funnels = funnels(convs)
	rep.Agents = agents(recs)
	rep.Comments = comments(seg.comments, recs)
	return rep
}

func comments(all []csatComment, recs []ticketRec) []Comment {
	byID := make(map[uint64]*ticketRec, len(recs))
	for i := range recs {
		byID[recs[i].t.ID] = &recs[i]
	}
	out := []Comment{}
	for _, c := range all {
		r := byID[c.ticket]
		if r == nil {
			continue
		}
		out = append(out, Comment{At: c.at, Ticket: c.ticket, Score: c.score, Agent: r.t.AgentID, Channel: r.channel, Text: c.text})
	}
	slices.SortFunc(out, func(a, b Comment) int { return b.At.Compare(a.At) }) // newest first
	return out
}

func langOf(c *conversation) string { return orUnknown(c.lang) }

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// builder computes figures with the options they depend on.
type builder struct{ hours BusinessHours }

// rows groups conversations and tickets by key; a key function may return
// several keys (flows) or none.
func (b builder) rows(convs []*conversation, recs []ticketRec, ck func(*conversation) []string, tk func(ticketRec) []string) []Row {
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
		out = append(out, Row{Key: k, Figures: b.figures(cg[k], tg[k])})
	}
	return out
}

// groupKey names the day ("2026-11-23"), the week by its Monday
// ("2026-11-23") or the month ("2026-11") of t.
func groupKey(t time.Time, loc *time.Location, group string) string {
	return groupStart(t.In(loc), group).Format(groupLayout(group))
}

func groupLayout(group string) string {
	if group == GroupMonth {
		return "2006-01"
	}
	return time.DateOnly
}

// groupStart is the midnight that begins t's day, week or month, in t's
// location.
func groupStart(t time.Time, group string) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	switch group {
	case GroupWeek:
		return d.AddDate(0, 0, -(int(d.Weekday())+6)%7)
	case GroupMonth:
		return d.AddDate(0, 0, 1-d.Day())
	}
	return d
}

func groupNext(t time.Time, group string) time.Time {
	switch group {
	case GroupWeek:
		return t.AddDate(0, 0, 7)
	case GroupMonth:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// fill adds the days, weeks or months of the period without data, so
// charts over time show the gaps.
func (b builder) fill(in []Row, opts Options, group string) []Row {
	if len(in) == 0 && (opts.From.IsZero() || opts.To.IsZero()) {
		return in
	}
	layout := groupLayout(group)
	first, last := opts.From, opts.To.Add(-time.Nanosecond)
	if opts.From.IsZero() {
		first, _ = time.ParseInLocation(layout, in[0].Key, opts.Location)
	}
	if opts.To.IsZero() {
		last, _ = time.ParseInLocation(layout, in[len(in)-1].Key, opts.Location)
	}
	d0, d1 := groupStart(first.In(opts.Location), group), groupStart(last.In(opts.Location), group)
	if d1.Before(d0) || d1.Sub(d0) > maxFilledDays*24*time.Hour {
		return in
	}
	have := map[string]Row{}
	for _, r := range in {
		have[r.Key] = r
	}
	var out []Row
	for d := d0; !d.After(d1); d = groupNext(d, group) {
		k := d.Format(layout)
		r, ok := have[k]
		if !ok {
			r = Row{Key: k, Figures: b.figures(nil, nil)}
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

func (b builder) figures(convs []*conversation, recs []ticketRec) Figures {
	f := Figures{HandoffsByReason: map[string]int{}, CSATDistribution: map[string]int{}}
	for i := 1; i <= 5; i++ {
		f.CSATDistribution[strconv.Itoa(i)] = 0
	}
	p := &f.Provisional
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
		switch c.standing {
		case OutcomeContained:
			p.Contained++
		case OutcomeHandedOff:
			p.HandedOff++
		case OutcomeAbandoned:
			p.Abandoned++
		case OutcomeReturned:
			p.Returned++
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
	f.AbandonRate = ratio(f.Abandoned, closed)
	p.ContainmentRate = ratio(p.Contained, f.Conversations)
	p.HandoffRate = ratio(p.HandedOff, f.Conversations)
	p.AbandonRate = ratio(p.Abandoned, f.Conversations)
	f.FallbackRate = ratio(f.Fallbacks, f.BotTurns)
	b.ticketFigures(&f, recs)
	return f
}

// durations collects the samples of one ticket time.
type durations struct{ wall, business []float64 }

func (b builder) add(d *durations, from, to time.Time) {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return
	}
	d.wall = append(d.wall, to.Sub(from).Seconds())
	if b.hours != nil {
		d.business = append(d.business, b.hours.OpenBetween(from, to).Seconds())
	}
}

func (b builder) ticketFigures(f *Figures, recs []ticketRec) {
	var afrt, afrtCust, wait durations
	var res, csat []float64
	for _, r := range recs {
		t := r.t
		f.Tickets++
		if t.Status == store.TicketQueued {
			f.TicketsWaiting++
		}
		if !t.FirstReplyAt.IsZero() {
			b.add(&afrt, t.CreatedAt, t.FirstReplyAt)
			if !r.custFirst.After(t.CreatedAt) {
				b.add(&afrtCust, r.custFirst, t.FirstReplyAt)
			}
		}
		b.add(&wait, queuedAt(t), t.AssignedAt)
		if t.Status == store.TicketResolved && !t.ResolvedAt.IsZero() {
			f.TicketsResolved++
			res = append(res, t.ResolvedAt.Sub(t.CreatedAt).Seconds())
		}
		if t.CSAT >= 1 && t.CSAT <= 5 {
			csat = append(csat, float64(t.CSAT))
			f.CSATDistribution[strconv.Itoa(t.CSAT)]++
		}
	}
	f.AFRTMedianSeconds, f.AFRTP90Seconds = quantile(afrt.wall, 0.5), quantile(afrt.wall, 0.9)
	f.AFRTBusinessMedianSeconds, f.AFRTBusinessP90Seconds = quantile(afrt.business, 0.5), quantile(afrt.business, 0.9)
	f.AFRTCustomerMedianSeconds, f.AFRTCustomerP90Seconds = quantile(afrtCust.wall, 0.5), quantile(afrtCust.wall, 0.9)
	f.AFRTCustomerBusinessMedianSeconds, f.AFRTCustomerBusinessP90Seconds = quantile(afrtCust.business, 0.5), quantile(afrtCust.business, 0.9)
	f.QueueWaitMedianSeconds, f.QueueWaitP90Seconds = quantile(wait.wall, 0.5), quantile(wait.wall, 0.9)
	f.QueueWaitBusinessMedianSeconds, f.QueueWaitBusinessP90Seconds = quantile(wait.business, 0.5), quantile(wait.business, 0.9)
	f.ResolutionMedianSeconds, f.ResolutionP90Seconds = quantile(res, 0.5), quantile(res, 0.9)
	f.CSATResponses = len(csat)
	f.CSATAverage = mean(csat)
}

// queuedAt is when the ticket last joined the queue: its creation, or its
// reopening (the wait of a reopened ticket counts from there, as handoff's
// estimate does).
func queuedAt(t store.Ticket) time.Time {
	if t.ReopenedAt.After(t.CreatedAt) && !t.AssignedAt.Before(t.ReopenedAt) {
		return t.ReopenedAt
	}
	return t.CreatedAt
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
