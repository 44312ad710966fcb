package analytics

// HeadlineFigure is one of the figures a lead reads first, with its value
// in the period before (Options.Compare) and the change. Counts and
// durations change by Change (the difference) and ChangeRatio (relative
// to the previous value); rates change by Change in their own unit, so
// 0.05 is five percentage points, and have no ChangeRatio.
type HeadlineFigure struct {
	Key         string   `json:"key"`  // the Figures JSON field
	Kind        string   `json:"kind"` // count, rate, seconds or score
	Label       string   `json:"label"`
	Value       *float64 `json:"value"`
	Previous    *float64 `json:"previous"`
	Change      *float64 `json:"change"`
	ChangeRatio *float64 `json:"change_ratio"`
}

type headlineDef struct {
	key, kind, label string
	get              func(*Figures) *float64
}

func count(n int) *float64 { v := float64(n); return &v }

// headlineDefs is the order the dashboard and `parley stats` show them in.
var headlineDefs = []headlineDef{
	{"conversations", "count", "conversations", func(f *Figures) *float64 { return count(f.Conversations) }},
	{"open", "count", "still open", func(f *Figures) *float64 { return count(f.Open) }},
	{"containment_rate", "rate", "contained by the bot (ended conversations)", func(f *Figures) *float64 { return f.ContainmentRate }},
	{"provisional.containment_rate", "rate", "contained, provisional (open ones as they stand)", func(f *Figures) *float64 { return f.Provisional.ContainmentRate }},
	{"handoff_rate", "rate", "handed off (ended conversations)", func(f *Figures) *float64 { return f.HandoffRate }},
	{"abandon_rate", "rate", "abandoned (ended conversations)", func(f *Figures) *float64 { return f.AbandonRate }},
	{"fallback_rate", "rate", "fallback rate", func(f *Figures) *float64 { return f.FallbackRate }},
	{"tickets", "count", "tickets", func(f *Figures) *float64 { return count(f.Tickets) }},
	{"queue_wait_median_seconds", "seconds", "queue wait (median)", func(f *Figures) *float64 { return f.QueueWaitMedianSeconds }},
	{"afrt_median_seconds", "seconds", "first response from the handoff (median)", func(f *Figures) *float64 { return f.AFRTMedianSeconds }},
	{"afrt_customer_median_seconds", "seconds", "first response from the customer's first message (median)", func(f *Figures) *float64 { return f.AFRTCustomerMedianSeconds }},
	{"afrt_business_median_seconds", "seconds", "first response from the handoff, business hours (median)", func(f *Figures) *float64 { return f.AFRTBusinessMedianSeconds }},
	{"resolution_median_seconds", "seconds", "resolution (median)", func(f *Figures) *float64 { return f.ResolutionMedianSeconds }},
	{"csat_average", "score", "CSAT (1–5)", func(f *Figures) *float64 { return f.CSATAverage }},
}

// Headline lists the headline figures of cur with prev's values (prev may
// be nil: no comparison). A change is nil when either value is.
func Headline(cur Figures, prev *Figures) []HeadlineFigure {
	out := make([]HeadlineFigure, 0, len(headlineDefs))
	for _, d := range headlineDefs {
		h := HeadlineFigure{Key: d.key, Kind: d.kind, Label: d.label, Value: d.get(&cur)}
		if prev != nil {
			h.Previous = d.get(prev)
		}
		if h.Value != nil && h.Previous != nil {
			h.Change = round(*h.Value - *h.Previous)
			if d.kind != "rate" && *h.Previous != 0 {
				h.ChangeRatio = round((*h.Value - *h.Previous) / *h.Previous)
			}
		}
		out = append(out, h)
	}
	return out
}
