package analytics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVTables are the tables WriteCSV writes, in the order the dashboard
// lists them: the headline, the rows of every breakdown, the funnels of all
// flows, the agents, the CSAT distribution and the CSAT comments.
var CSVTables = []string{"headline", "by_time", "by_day", "by_channel", "by_lang", "by_flow", "by_reason",
	"funnels", "agents", "csat", "csat_comments"}

// WriteCSV writes one table of the report as CSV with a header line.
// Empty cells are figures with nothing to compute them from (JSON null).
func WriteCSV(w io.Writer, rep Report, table string) error {
	var recs [][]string
	switch table {
	case "headline":
		recs = append(recs, []string{"figure", "label", "value", "previous", "change", "change_ratio"})
		for _, h := range rep.Headline {
			recs = append(recs, []string{h.Key, h.Label, cell(h.Value), cell(h.Previous), cell(h.Change), cell(h.ChangeRatio)})
		}
	case "by_time", "by_day", "by_channel", "by_lang", "by_flow", "by_reason":
		rows := map[string][]Row{"by_time": rep.ByTime, "by_day": rep.ByDay, "by_channel": rep.ByChannel,
			"by_lang": rep.ByLang, "by_flow": rep.ByFlow, "by_reason": rep.ByReason}[table]
		recs = append(recs, rowHeader(table, rep.Group))
		for _, r := range rows {
			recs = append(recs, rowCells(r))
		}
	case "funnels":
		recs = append(recs, []string{"flow", "node", "entered", "fallbacks", "handoffs", "dropped_off", "abandoned", "drop_off_rate"})
		for _, fn := range rep.Funnels {
			for _, n := range fn.Nodes {
				recs = append(recs, []string{fn.Flow, n.Node, itoa(n.Entered), itoa(n.Fallbacks), itoa(n.Handoffs),
					itoa(n.DroppedOff), itoa(n.Abandoned), cell(n.DropOffRate)})
			}
		}
	case "agents":
		recs = append(recs, []string{"agent", "tickets", "resolved", "afrt_median_seconds", "csat_average", "csat_responses"})
		for _, a := range rep.Agents {
			recs = append(recs, []string{a.Agent, itoa(a.Tickets), itoa(a.Resolved), cell(a.AFRTMedianSeconds), cell(a.CSATAverage), itoa(a.CSATResponses)})
		}
	case "csat":
		recs = append(recs, []string{"score", "ratings"})
		for i := 1; i <= 5; i++ {
			recs = append(recs, []string{itoa(i), itoa(rep.CSATDistribution[itoa(i)])})
		}
	case "csat_comments":
		recs = append(recs, []string{"at", "ticket", "score", "agent", "channel", "comment"})
		for _, c := range rep.Comments {
			recs = append(recs, []string{c.At.UTC().Format(time.RFC3339), strconv.FormatUint(c.Ticket, 10), itoa(c.Score),
				c.Agent, c.Channel, c.Text})
		}
	default:
		return fmt.Errorf("analytics: no table %q: want one of %s", table, strings.Join(CSVTables, ", "))
	}
	cw := csv.NewWriter(w)
	for _, r := range recs {
		for i, v := range r {
			r[i] = defuse(v)
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func rowHeader(table, group string) []string {
	key := strings.TrimPrefix(table, "by_")
	if table == "by_time" {
		key = group
	}
	return []string{key, "conversations", "open", "contained", "handed_off", "abandoned", "returned",
		"containment_rate", "handoff_rate", "abandon_rate", "provisional_containment_rate", "provisional_handoff_rate",
		"fallback_rate", "tickets", "tickets_resolved", "queue_wait_median_seconds", "afrt_median_seconds",
		"afrt_customer_median_seconds", "afrt_business_median_seconds", "resolution_median_seconds", "csat_average", "csat_responses"}
}

func rowCells(r Row) []string {
	f := r.Figures
	return []string{r.Key, itoa(f.Conversations), itoa(f.Open), itoa(f.Contained), itoa(f.HandedOff), itoa(f.Abandoned),
		itoa(f.Returned), cell(f.ContainmentRate), cell(f.HandoffRate), cell(f.AbandonRate), cell(f.Provisional.ContainmentRate),
		cell(f.Provisional.HandoffRate), cell(f.FallbackRate), itoa(f.Tickets), itoa(f.TicketsResolved),
		cell(f.QueueWaitMedianSeconds), cell(f.AFRTMedianSeconds), cell(f.AFRTCustomerMedianSeconds),
		cell(f.AFRTBusinessMedianSeconds), cell(f.ResolutionMedianSeconds), cell(f.CSATAverage), itoa(f.CSATResponses)}
}

func itoa(n int) string { return strconv.Itoa(n) }

func cell(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// defuse keeps a spreadsheet from running a cell as a formula: customer
// comments, reasons and keys are text, so one that starts with = + - @ or
// a tab gets a leading apostrophe (OWASP's advice for CSV injection).
func defuse(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + v
	case '-':
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "'" + v
		}
	}
	return v
}
