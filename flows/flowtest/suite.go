package flowtest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// A suite measures a project on many single customer messages: each case
// is one message and the outcome a good support bot gives (hand to a
// person, enter a flow, answer an FAQ entry, reach a node, or admit it did
// not understand). Every case runs twice, as the first message of a new
// conversation and as a message after the greeting ("/start" first), and
// is right only when both runs give the expected outcome.
//
// The outcome of a run is read from what the engine did, in precedence:
// a handoff (with its reason) > a flow other than the project's start flow
// entered > an FAQ entry whose answer or title a reply shows (from the
// turn's trace, so it works for any project) > a node entered (the turn
// usually ends back at the menu, so any node of the turn counts) > a
// fallback with no handoff. A case expecting one of them is right when
// that one happened and nothing of higher precedence did; a `fallback`
// case also wants a fallback event.

// Run names of a case's two runs.
const (
	RunFirst   = "first message"
	RunGreeted = "after the greeting"
)

// SuiteReport is a suite's figures and failures.
type SuiteReport struct {
	Suite string        `json:"suite"`
	File  string        `json:"file"`
	Cases int           `json:"cases"`
	Right int           `json:"right"`
	Topic []TopicReport `json:"topics"`
	// Accuracy is Right/Cases.
	Accuracy float64 `json:"accuracy"`
	// ComplaintRecall is the share of cases expecting a handoff for a
	// complaint or a negative message that got a handoff (any reason) in
	// both runs; needless handoffs the share of cases expecting no
	// handoff that got one in either run.
	Complaints       int             `json:"complaint_cases"`
	ComplaintsCaught int             `json:"complaints_handed_off"`
	ComplaintRecall  float64         `json:"complaint_recall"`
	Calm             int             `json:"no_handoff_cases"`
	Needless         int             `json:"needless_handoff_cases"`
	NeedlessHandoffs float64         `json:"needless_handoffs"`
	Require          []RequireResult `json:"require,omitempty"`
	Failures         []CaseFailure   `json:"failures,omitempty"`
}

// TopicReport is one topic's figures.
type TopicReport struct {
	Topic    string  `json:"topic"`
	Cases    int     `json:"cases"`
	Right    int     `json:"right"`
	Accuracy float64 `json:"accuracy"`
}

// RequireResult is one required figure and whether the suite reached it.
type RequireResult struct {
	Name string  `json:"name"`
	Want float64 `json:"want"`
	Got  float64 `json:"got"`
	Max  bool    `json:"max,omitempty"` // Want is a ceiling
	OK   bool    `json:"ok"`
}

// CaseFailure is one run of a case that gave another outcome.
type CaseFailure struct {
	Pos   string       `json:"pos"`
	Say   string       `json:"say"`
	Topic string       `json:"topic,omitempty"`
	Run   string       `json:"run"`
	Want  string       `json:"want"`
	Got   string       `json:"got"`
	Trace *flows.Trace `json:"trace,omitempty"`
}

// OK reports whether the suite reached every figure it requires.
func (r *SuiteReport) OK() bool {
	for _, q := range r.Require {
		if !q.OK {
			return false
		}
	}
	return true
}

// CheckSuites checks that what the suites expect exists in the project:
// flows, nodes and FAQ entries. The error is a flows.ErrorList.
func CheckSuites(p *flows.Project, suites []*syntax.Suite) error {
	r := &syntax.Reporter{}
	flowNames := p.FlowNames()
	var nodes []string
	for _, f := range flowNames {
		for _, n := range p.NodeIDs(f) {
			nodes = append(nodes, f+"."+n)
		}
	}
	slices.Sort(nodes)
	faqs := p.FAQIDs()
	check := func(s *syntax.Str, path, what string, known []string, ok bool) {
		if ok {
			return
		}
		msg := fmt.Sprintf("no %s %q in the project", what, s.Value)
		if sg := syntax.Suggest(s.Value, known); sg != "" {
			msg += fmt.Sprintf("; did you mean %q?", sg)
		}
		r.Errorf(s.Pos, path, "%s", msg)
	}
	for _, s := range suites {
		for _, c := range s.Cases {
			if c.Flow != nil {
				check(c.Flow, c.Path+".expect.flow", "flow", flowNames, slices.Contains(flowNames, c.Flow.Value))
			}
			if c.Node != nil {
				check(c.Node, c.Path+".expect.node", "node", nodes, slices.Contains(nodes, c.Node.Value))
			}
			if c.FAQ != nil {
				check(c.FAQ, c.Path+".expect.faq", "faq entry", faqs, slices.Contains(faqs, c.FAQ.Value))
			}
			if c.Lang != nil {
				check(c.Lang, c.Path+".expect.lang", "language", p.Languages, slices.Contains(p.Languages, c.Lang.Value))
			}
		}
	}
	return r.Err()
}

// RunSuite runs every case of s twice and measures it.
func RunSuite(ctx context.Context, p *flows.Project, s *syntax.Suite, opts Options) *SuiteReport {
	if opts.Now.IsZero() {
		opts.Now = defaultNow
	}
	rep := &SuiteReport{File: s.File}
	if s.Name != nil {
		rep.Suite = s.Name.Value
	}
	topics := map[string]*TopicReport{}
	var order []string
	for _, c := range s.Cases {
		topic := c.Topic
		if topic == "" {
			topic = "(none)"
		}
		tr := topics[topic]
		if tr == nil {
			tr = &TopicReport{Topic: topic}
			topics[topic] = tr
			order = append(order, topic)
		}
		tr.Cases++
		rep.Cases++
		right, handedOff := true, [2]bool{}
		for i, run := range []string{RunFirst, RunGreeted} {
			got := runCase(ctx, p, s, c, run == RunGreeted, opts)
			handedOff[i] = got.handoff != ""
			if why := judge(p, c, got); why != "" {
				right = false
				rep.Failures = append(rep.Failures, CaseFailure{Pos: c.Pos.String(), Say: c.Say.Value,
					Topic: c.Topic, Run: run, Want: describeExpect(c), Got: why, Trace: got.trace})
			}
		}
		if right {
			tr.Right++
			rep.Right++
		}
		switch {
		case c.Handoff != nil && (c.Handoff.Value == flows.ReasonNegative || c.Handoff.Value == "complaint"):
			rep.Complaints++
			if handedOff[0] && handedOff[1] {
				rep.ComplaintsCaught++
			}
		case c.Handoff == nil:
			rep.Calm++
			if handedOff[0] || handedOff[1] {
				rep.Needless++
			}
		}
	}
	for _, t := range order {
		tr := topics[t]
		tr.Accuracy = share(tr.Right, tr.Cases, 1)
		rep.Topic = append(rep.Topic, *tr)
	}
	rep.Accuracy = share(rep.Right, rep.Cases, 1)
	rep.ComplaintRecall = share(rep.ComplaintsCaught, rep.Complaints, 1)
	rep.NeedlessHandoffs = share(rep.Needless, rep.Calm, 0)
	for _, q := range s.Require {
		got := map[string]float64{"accuracy": rep.Accuracy, "complaint_recall": rep.ComplaintRecall,
			"needless_handoffs": rep.NeedlessHandoffs}[q.Name]
		max := syntax.Requirable[q.Name]
		ok := got >= q.Value
		if max {
			ok = got <= q.Value
		}
		rep.Require = append(rep.Require, RequireResult{Name: q.Name, Want: q.Value, Got: got, Max: max, OK: ok})
	}
	return rep
}

// share is a/b, or empty when there is nothing to count.
func share(a, b int, empty float64) float64 {
	if b == 0 {
		return empty
	}
	return float64(a) / float64(b)
}

var defaultNow = time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)

// outcome is what one run of a case did.
type outcome struct {
	handoff  string   // reason, "" without a handoff
	flow     string   // the first flow entered other than the start flow
	faqs     []string // FAQ entries a reply showed
	nodes    []string // every node entered, flow.node
	fallback bool
	lang     string
	vars     map[string]any
	trace    *flows.Trace
}

// runCase runs one case: its message as the first of a conversation, or
// after "/start" when greeted.
func runCase(ctx context.Context, p *flows.Project, s *syntax.Suite, c *syntax.SuiteCase, greeted bool, opts Options) outcome {
	e := p.NewEngine(flows.Options{HTTP: newCanned(s.HTTP), Now: func() time.Time { return opts.Now }, Hours: opts.Hours})
	in := flows.Input{Channel: "web", Contact: flows.Contact{ID: "suite"}, Now: opts.Now}
	var st flows.State
	if greeted {
		start := in
		start.Text = "/start"
		var outs []flows.Output
		st, outs, _ = e.Step(ctx, st, start)
		seen(outs, map[string]bool{}, &in.Contact) // as the runtime keeps the contact
		in.Now = in.Now.Add(time.Minute)
	}
	in.Text, in.Debug = c.Say.Value, true
	st, outs, err := e.Step(ctx, st, in)
	var o outcome
	if err != nil {
		o.nodes = []string{"error: " + err.Error()}
		return o
	}
	o.lang, o.vars = st.Lang, st.Vars
	for _, out := range outs {
		switch {
		case out.Kind == flows.Handoff && o.handoff == "":
			o.handoff = out.Handoff.Reason
		case out.Kind == flows.Event && out.Event.Name == "node":
			o.nodes = append(o.nodes, out.Event.Flow+"."+out.Event.Node)
			if o.flow == "" && out.Event.Flow != p.StartFlow {
				o.flow = out.Event.Flow
			}
		case out.Kind == flows.Event && out.Event.Name == "fallback":
			o.fallback = true
		case out.Kind == flows.Debug:
			o.trace = out.Trace
			o.faqs = out.Trace.Answered
		}
	}
	return o
}

// judge says what is wrong with a run's outcome, "" when it is right.
func judge(p *flows.Project, c *syntax.SuiteCase, o outcome) string {
	got := describeOutcome(o)
	switch {
	case c.Handoff != nil:
		if o.handoff == "" || (c.Handoff.Value != "any" && o.handoff != c.Handoff.Value) {
			return got
		}
	case o.handoff != "":
		return got
	case c.Flow != nil:
		if o.flow != c.Flow.Value {
			return got
		}
	case o.flow != "":
		return got
	case c.FAQ != nil:
		if !slices.Contains(o.faqs, c.FAQ.Value) {
			return got
		}
	case len(o.faqs) > 0:
		return got
	case c.Node != nil:
		if !slices.Contains(o.nodes, c.Node.Value) {
			return got
		}
	case c.Fallback:
		if !o.fallback {
			return got
		}
	}
	for _, v := range c.Vars {
		want := eval.Format(v.Val.Any())
		x, ok := o.vars[v.Key.Value]
		if !ok {
			return fmt.Sprintf("%s; vars.%s is not set", got, v.Key.Value)
		}
		if eval.Format(x) != want {
			return fmt.Sprintf("%s; vars.%s is %q", got, v.Key.Value, eval.Format(x))
		}
	}
	if c.Lang != nil && o.lang != c.Lang.Value {
		return fmt.Sprintf("%s; replies in %q", got, o.lang)
	}
	return ""
}

// describeOutcome names what a run did, the outcome that counts first.
func describeOutcome(o outcome) string {
	var parts []string
	if o.handoff != "" {
		parts = append(parts, "handoff "+o.handoff)
	}
	if o.flow != "" {
		parts = append(parts, "flow "+o.flow)
	}
	if len(o.faqs) > 0 {
		parts = append(parts, "faq "+strings.Join(o.faqs, ", "))
	}
	if len(o.nodes) > 0 {
		parts = append(parts, "nodes "+strings.Join(o.nodes, " -> "))
	}
	if o.fallback && o.handoff == "" {
		parts = append(parts, "fallback")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func describeExpect(c *syntax.SuiteCase) string {
	var s string
	switch {
	case c.Handoff != nil:
		s = "handoff " + c.Handoff.Value
	case c.Flow != nil:
		s = "flow " + c.Flow.Value
	case c.FAQ != nil:
		s = "faq " + c.FAQ.Value
	case c.Node != nil:
		s = "node " + c.Node.Value
	case c.Fallback:
		s = "fallback"
	}
	for _, v := range c.Vars {
		s += fmt.Sprintf(", vars.%s %q", v.Key.Value, eval.Format(v.Val.Any()))
	}
	if c.Lang != nil {
		s += ", replies in " + c.Lang.Value
	}
	return s
}

// Write prints the report: figures per topic, the overall ones against
// what the suite requires, and every failing run with its trace.
func (r *SuiteReport) Write(w io.Writer) {
	fmt.Fprintf(w, "suite %q (%s): %d cases, each as a first message and after the greeting\n", r.Suite, r.File, r.Cases)
	width := len("total")
	for _, t := range r.Topic {
		width = max(width, len(t.Topic))
	}
	fmt.Fprintf(w, "  %-*s %5s %5s %8s\n", width, "topic", "cases", "right", "accuracy")
	for _, t := range r.Topic {
		fmt.Fprintf(w, "  %-*s %5d %5d %7.1f%%\n", width, t.Topic, t.Cases, t.Right, 100*t.Accuracy)
	}
	fmt.Fprintf(w, "  %-*s %5d %5d %7.1f%%\n", width, "total", r.Cases, r.Right, 100*r.Accuracy)
	fmt.Fprintf(w, "  accuracy          %6.1f%% (%d of %d)%s\n", 100*r.Accuracy, r.Right, r.Cases, r.required("accuracy"))
	fmt.Fprintf(w, "  complaint recall  %6.1f%% (%d of %d)%s\n", 100*r.ComplaintRecall, r.ComplaintsCaught, r.Complaints, r.required("complaint_recall"))
	fmt.Fprintf(w, "  needless handoffs %6.1f%% (%d of %d)%s\n", 100*r.NeedlessHandoffs, r.Needless, r.Calm, r.required("needless_handoffs"))
	for _, f := range r.Failures {
		topic := ""
		if f.Topic != "" {
			topic = " [" + f.Topic + "]"
		}
		fmt.Fprintf(w, "--- FAIL case %s%s %q (%s)\n    want %s\n    got  %s\n", f.Pos, topic, f.Say, f.Run, f.Want, f.Got)
		if f.Trace != nil {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f.Trace.String(), "\n", "\n    "))
		}
	}
	if r.OK() {
		fmt.Fprintf(w, "ok: suite %q\n", r.Suite)
	} else {
		fmt.Fprintf(w, "FAIL: suite %q misses what it requires\n", r.Suite)
	}
}

func (r *SuiteReport) required(name string) string {
	for _, q := range r.Require {
		if q.Name != name {
			continue
		}
		op, verdict := ">=", "ok"
		if q.Max {
			op = "<="
		}
		if !q.OK {
			verdict = "MISSED"
		}
		return fmt.Sprintf("  require %s %.1f%%: %s", op, 100*q.Want, verdict)
	}
	return ""
}
