package cmd

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff/analytics"
)

const statsUsage = "usage: parley stats [--from DATE] [--to DATE] [--group day|week|month] [--channel C] [--flow F] [--agent A] [--reason R] [--project DIR] [--json | --csv TABLE] [--db FILE]"

// runStats prints the analytics of a period for support leads:
//
//	parley stats [--from 2026-11-01] [--to 2026-11-30] [--json] [--db FILE]
//
// DATE is YYYY-MM-DD (UTC days; --to includes that whole day) or an RFC 3339
// instant (--to then excludes it). Without --from the report starts at the
// first event; without --to it runs to now; with both, the figures are
// compared with the period of the same length before. The store is opened
// read-only. The report is analytics.Compute's, as on the dashboard; give
// --project the serving project so that leaving at an ask node counts as
// abandoned there too.
func runStats(args []string, stdio IO) int {
	flags := newFlagSet("parley stats", stdio)
	period := periodFlags(flags)
	asJSON := flags.Bool("json", false, "print one JSON object")
	csvTable := flags.String("csv", "", "print one table as CSV: "+strings.Join(analytics.CSVTables, ", "))
	var opts analytics.Options
	flags.StringVar(&opts.Group, "group", "day", "rows over time by day, week or month (by_time)")
	flags.StringVar(&opts.Filter.Channel, "channel", "", "only this channel (web, telegram, vk)")
	flags.StringVar(&opts.Filter.Flow, "flow", "", "only conversations that entered this flow")
	flags.StringVar(&opts.Filter.Agent, "agent", "", "only tickets held by this agent id, and their conversations")
	flags.StringVar(&opts.Filter.Reason, "reason", "", "only handoffs for this reason")
	project := flags.String("project", "", "the project's directory: its ask nodes are where a customer who leaves is abandoned")
	dbPath := dbFlag(flags)
	pos, err := parseInterspersed(flags, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		fmt.Fprintf(stdio.Stderr, "parley stats: unexpected argument %q\n%s\n", pos[0], statsUsage)
		return 2
	}
	from, to, err := period.parse()
	if err == nil && *csvTable != "" && !slices.Contains(analytics.CSVTables, *csvTable) {
		err = fmt.Errorf("--csv %q: want one of %s", *csvTable, strings.Join(analytics.CSVTables, ", "))
	}
	if err == nil && *project != "" {
		var p *flows.Project
		if p, err = loadProject(*project); err == nil {
			opts.Questions = analytics.QuestionNodes(analyticsGraphs(p))
		}
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley stats: %v\n", err)
		return 2
	}
	opts.From, opts.To, opts.Compare = from, to, true
	return statsReport(stdio, *dbPath, opts, *asJSON, *csvTable)
}

// period is the --from and --to of the commands that report on a period
// (stats, misses).
type period struct{ from, to *string }

func periodFlags(fs *flag.FlagSet) period {
	return period{
		from: fs.String("from", "", "first day (YYYY-MM-DD, UTC) or instant (RFC 3339); default: the first event"),
		to:   fs.String("to", "", "last day, included (YYYY-MM-DD, UTC), or instant excluded (RFC 3339); default: now"),
	}
}

// parse reads the period; a zero time is an open end.
func (p period) parse() (from, to time.Time, err error) {
	if from, err = parseStatsTime("--from", *p.from, false); err != nil {
		return
	}
	if to, err = parseStatsTime("--to", *p.to, true); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		err = fmt.Errorf("--from %s is not before --to %s", *p.from, *p.to)
	}
	return
}

// parseStatsTime reads a day or an instant; a day given as the end of the
// period means the end of that day.
func parseStatsTime(flagName, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, time.UTC); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a day YYYY-MM-DD or an RFC 3339 time like 2026-11-23T10:00:00Z", flagName, s)
	}
	return t.UTC(), nil
}

func statsReport(stdio IO, path string, opts analytics.Options, asJSON bool, csvTable string) int {
	if _, err := statDB(path); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley stats: %v\n", err)
		return 1
	}
	db, err := openStoreFor("stats", path, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	rep, err := analytics.Compute(db, opts)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley stats: %v\n", strings.TrimPrefix(err.Error(), "analytics: "))
		return 1
	}
	if csvTable != "" {
		if err := analytics.WriteCSV(stdio.Stdout, rep, csvTable); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley stats: %v\n", err)
			return 1
		}
		return 0
	}
	if asJSON {
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley stats: %v\n", err)
			return 1
		}
		return 0
	}
	printStats(stdio.Stdout, rep)
	return 0
}

// printStats writes the human report: the totals, then one table per
// breakdown, the worst drop-off nodes and the agents.
func printStats(w io.Writer, r analytics.Report) {
	period := "all events"
	switch {
	case !r.From.IsZero() && !r.To.IsZero():
		period = r.From.Format(time.RFC3339) + " – " + r.To.Format(time.RFC3339)
	case !r.From.IsZero():
		period = "from " + r.From.Format(time.RFC3339)
	case !r.To.IsZero():
		period = "until " + r.To.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Period: %s\n\n", period)
	if r.Conversations == 0 && r.Tickets == 0 {
		fmt.Fprintln(w, "no conversations and no tickets in this period")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	f := r.Figures
	fmt.Fprintf(tw, "conversations\t%d\t(contained %d, handed off %d, abandoned %d, returned %d, open %d)\n",
		f.Conversations, f.Contained, f.HandedOff, f.Abandoned, f.Returned, f.Open)
	fmt.Fprintf(tw, "containment rate\t%s\t(of ended conversations; provisional, open ones as they stand: %s)\n",
		pct(f.ContainmentRate), pct(f.Provisional.ContainmentRate))
	fmt.Fprintf(tw, "handoff, abandon rate\t%s, %s\n", pct(f.HandoffRate), pct(f.AbandonRate))
	fmt.Fprintf(tw, "messages\t%d\t(in %d, out %d)\n", f.Messages, f.MessagesIn, f.MessagesOut)
	fmt.Fprintf(tw, "fallback rate\t%s\t(%d fallbacks in %d bot turns)\n", pct(f.FallbackRate), f.Fallbacks, f.BotTurns)
	fmt.Fprintf(tw, "handoffs by reason\t%s\n", counts(f.HandoffsByReason))
	fmt.Fprintf(tw, "tickets\t%d\t(resolved %d)\n", f.Tickets, f.TicketsResolved)
	fmt.Fprintf(tw, "queue wait\tmedian %s\tp90 %s\t(%d waiting)\n", dur(f.QueueWaitMedianSeconds), dur(f.QueueWaitP90Seconds), f.TicketsWaiting)
	fmt.Fprintf(tw, "first response\tmedian %s\tp90 %s\n", dur(f.AFRTMedianSeconds), dur(f.AFRTP90Seconds))
	fmt.Fprintf(tw, "  from first message\tmedian %s\tp90 %s\n", dur(f.AFRTCustomerMedianSeconds), dur(f.AFRTCustomerP90Seconds))
	fmt.Fprintf(tw, "resolution\tmedian %s\tp90 %s\n", dur(f.ResolutionMedianSeconds), dur(f.ResolutionP90Seconds))
	fmt.Fprintf(tw, "CSAT\t%s\t(%d ratings; 1..5: %s)\n", num(f.CSATAverage), f.CSATResponses, csatDist(f.CSATDistribution))
	tw.Flush()
	printChanges(w, r)

	for _, b := range []struct {
		title string
		rows  []analytics.Row
	}{{"BY " + strings.ToUpper(r.Group), r.ByTime}, {"BY CHANNEL", r.ByChannel}, {"BY REASON", r.ByReason}, {"BY LANGUAGE", r.ByLang}, {"BY FLOW (a conversation counts in every flow it entered)", r.ByFlow}} {
		if len(b.rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", b.title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tCONV\tCONTAINED\tHANDED OFF\tABANDONED\tCONTAINMENT\tOPEN\tPROVISIONAL\tFALLBACK\tTICKETS\tAFRT MEDIAN\tCSAT")
		for _, row := range b.rows {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", row.Key, row.Conversations, row.Contained,
				row.HandedOff, row.Abandoned, pct(row.ContainmentRate), row.Open, pct(row.Provisional.ContainmentRate),
				pct(row.FallbackRate), row.Tickets, dur(row.AFRTMedianSeconds), num(row.CSATAverage))
		}
		tw.Flush()
	}

	type drop struct {
		ref string
		n   analytics.NodeStat
	}
	var drops []drop
	for _, fn := range r.Funnels {
		for _, n := range fn.Nodes {
			if n.DroppedOff > 0 || n.Fallbacks > 0 {
				drops = append(drops, drop{fn.Flow + "." + n.Node, n})
			}
		}
	}
	sort.SliceStable(drops, func(i, j int) bool {
		if drops[i].n.DroppedOff != drops[j].n.DroppedOff {
			return drops[i].n.DroppedOff > drops[j].n.DroppedOff
		}
		return drops[i].ref < drops[j].ref
	})
	if len(drops) > 0 {
		fmt.Fprintln(w, "\nDROP-OFF AND FALLBACKS PER NODE")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tENTERED\tDROPPED OFF\tABANDONED\tDROP-OFF\tFALLBACKS")
		for i, d := range drops {
			if i == 15 {
				fmt.Fprintf(tw, "… %d more (see --json)\n", len(drops)-i)
				break
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\n", d.ref, d.n.Entered, d.n.DroppedOff, d.n.Abandoned, pct(d.n.DropOffRate), d.n.Fallbacks)
		}
		tw.Flush()
	}
	if len(r.Agents) > 0 {
		fmt.Fprintln(w, "\nTICKETS PER AGENT")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "AGENT\tTICKETS\tRESOLVED\tAFRT MEDIAN\tCSAT")
		for _, a := range r.Agents {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", a.Agent, a.Tickets, a.Resolved, dur(a.AFRTMedianSeconds), num(a.CSATAverage))
		}
		tw.Flush()
	}
}

// printChanges lists the headline figures against the period before.
func printChanges(w io.Writer, r analytics.Report) {
	if r.Previous == nil {
		return
	}
	fmt.Fprintf(w, "\nAGAINST %s – %s\n", r.PreviousFrom.Format(time.RFC3339), r.From.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tNOW\tBEFORE\tCHANGE")
	for _, h := range r.Headline {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Label, byKind(h.Kind, h.Value), byKind(h.Kind, h.Previous), change(h))
	}
	tw.Flush()
}

func byKind(kind string, v *float64) string {
	switch {
	case v == nil:
		return "-"
	case kind == "rate":
		return pct(v)
	case kind == "seconds":
		return dur(v)
	case kind == "score":
		return num(v)
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// change is a rate's difference in percentage points, or a count's or
// time's difference and relative change.
func change(h analytics.HeadlineFigure) string {
	if h.Change == nil {
		return "-"
	}
	c := *h.Change
	sign := "+"
	if c < 0 {
		sign, c = "-", -c
	}
	if h.Kind == "rate" {
		return sign + strconv.FormatFloat(c*100, 'f', 1, 64) + " pp"
	}
	s := sign + byKind(h.Kind, &c)
	if h.ChangeRatio != nil {
		s += fmt.Sprintf(" (%+.0f%%)", *h.ChangeRatio*100)
	}
	return s
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

func dur(v *float64) string {
	if v == nil {
		return "-"
	}
	return time.Duration(*v * float64(time.Second)).Round(time.Second).String()
}

func csatDist(m map[string]int) string {
	parts := make([]string, 5)
	for i := range parts {
		parts[i] = strconv.Itoa(m[strconv.Itoa(i+1)])
	}
	return strings.Join(parts, "/")
}
