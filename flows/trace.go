package flows

import (
	"fmt"
	"strings"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/nlu"
)

// Trace is what the bot understood of one message and what it did with
// it, for a person tuning a project: `parley chat --debug`, the failures
// of `parley test`. The engine builds one only for an Input with Debug
// set, and returns it as the turn's last output (kind Debug); the runtime
// never sends or stores it. Without Debug it costs nothing.
type Trace struct {
	// Lang is the language detected in the message ("" when unsure, for a
	// command or a button; a message of fewer than four letters changes
	// the conversation's language only when it has none); ReplyLang the
	// language the turn's replies are in.
	Lang      string `json:"lang,omitempty"`
	ReplyLang string `json:"reply_lang"`

	// The classifier's reading (empty without a knowledge base).
	Intent     string   `json:"intent,omitempty"`
	Score      float64  `json:"score,omitempty"`
	OutOfScope bool     `json:"out_of_scope,omitempty"`
	Top        []Scored `json:"top,omitempty"`
	// FAQ is the FAQ entry the message matched best (also when out of
	// scope); Explain the classifier's reasons for it, when it gives them.
	FAQ     string   `json:"faq,omitempty"`
	Explain []string `json:"explain,omitempty"`

	Sentiment         float64  `json:"sentiment"`
	Negative          bool     `json:"negative,omitempty"`
	SentimentEvidence []string `json:"sentiment_evidence,omitempty"`
	HumanRequested    bool     `json:"human_requested,omitempty"`
	HumanEvidence     []string `json:"human_evidence,omitempty"`

	// Trigger is the id of the global trigger that fired; Escalation the
	// escalation rule that handed the customer over, with its condition
	// ("negative (sentiment < -0.5)").
	Trigger    string `json:"trigger,omitempty"`
	Escalation string `json:"escalation,omitempty"`
	// Branches are the branch conditions taken, in order; Nodes every node
	// entered ("flow.node").
	Branches []TraceBranch `json:"branches,omitempty"`
	Nodes    []string      `json:"nodes,omitempty"`
	// Answered are the FAQ entries whose answer or title the turn's
	// replies show (an answer, or a "did you mean ...?" offer).
	Answered []string `json:"faq_answered,omitempty"`
	// Errors are the turn's error events ("main.look http: GET ...: host
	// not allowed"), so a lead sees why a flow took its on_error path.
	Errors []string `json:"errors,omitempty"`
}

// Scored is a label with its calibrated score.
type Scored struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// TraceBranch is one branch taken: at Node, condition If ("else" for the
// default) led to Goto.
type TraceBranch struct {
	Node string `json:"node"`
	If   string `json:"if"`
	Goto string `json:"goto"`
}

// traceUnderstanding computes the whole understanding of the message for
// the trace, whatever the flow's expressions read.
func (t *turn) traceUnderstanding() {
	tr := t.trace
	if t.env.Payload == "" {
		tr.Lang = messageLang(t.env.Text, 1)
	}
	u := t.e.p.understand
	if t.env.Text == "" {
		return
	}
	env := &t.env
	if u != nil {
		t.need(eval.UsesIntent | eval.UsesSentiment | eval.UsesHuman)
		tr.Intent, tr.Score, tr.OutOfScope, tr.FAQ = env.Intent, env.IntentScore, env.OutOfScope, env.FAQ.ID
		if u.clf != nil && env.Payload == "" {
			for _, s := range u.clf.ClassifyPrepared(t.prepare()).Top {
				tr.Top = append(tr.Top, Scored{Label: s.Label, Score: s.Score})
			}
			if tr.Intent != "" {
				tr.Explain = u.clf.Explain(t.prepare(), tr.Intent, 5)
			}
		}
	}
	if env.Payload != "" {
		return // a pressed button carries no feeling and asks for no one
	}
	if u != nil && u.scorer != nil {
		tr.Sentiment, tr.Negative, tr.SentimentEvidence = env.Sentiment, env.Negative, t.sentimentEvidence
	} else {
		// No expression reads sentiment: the trace still shows it.
		s := sharedScorer().ScorePrepared(t.prepare())
		tr.Sentiment, tr.Negative, tr.SentimentEvidence = s.Score, s.Negative, s.Evidence
	}
	if u != nil {
		tr.HumanRequested, tr.HumanEvidence = env.HumanRequested, t.humanEvidence
	} else {
		tr.HumanRequested, tr.HumanEvidence = nlu.RequestsHumanPrepared(t.prepare())
	}
}

// took records a branch taken, when tracing.
func (t *turn) took(n *node, cond *eval.Program, target *node) {
	if t.trace == nil {
		return
	}
	b := TraceBranch{Node: n.ref(), If: "else"}
	if cond != nil {
		b.If = cond.Src
	}
	if target != nil {
		b.Goto = target.ref()
	}
	t.trace.Branches = append(t.trace.Branches, b)
}

// shownFAQ records that a reply renders the matched FAQ entry's text.
func (t *turn) shownFAQ(tm *eval.Template) {
	if t.trace == nil || tm == nil || tm.Uses&eval.UsesFAQText == 0 || t.env.FAQ.ID == "" {
		return
	}
	for _, id := range t.trace.Answered {
		if id == t.env.FAQ.ID {
			return
		}
	}
	t.trace.Answered = append(t.trace.Answered, t.env.FAQ.ID)
}

// finishTrace fills in what the turn's outputs tell and appends the trace
// as the last output.
func (t *turn) finishTrace() {
	tr := t.trace
	tr.ReplyLang = t.st.Lang
	for _, o := range t.out {
		switch {
		case o.Kind == Event && o.Event.Name == "node":
			tr.Nodes = append(tr.Nodes, o.Event.Flow+"."+o.Event.Node)
		case o.Kind == Event && o.Event.Name == "trigger":
			id := o.Event.Data["trigger"]
			tr.Trigger = id
			if rule, ok := strings.CutPrefix(id, "escalate_"); ok {
				tr.Escalation = rule + " (" + t.triggerSrc(id) + ")"
			}
		case o.Kind == Handoff && o.Handoff.Reason == ReasonNotUnderstood && tr.Escalation == "":
			if p := t.e.p.escalation.notUnderstood; p != nil {
				tr.Escalation = ReasonNotUnderstood + " (" + p.Src + ")"
			}
		}
	}
	t.out = append(t.out, Output{Kind: Debug, Trace: tr})
}

func (t *turn) triggerSrc(id string) string {
	for _, tr := range t.e.p.triggers {
		if tr.id == id && tr.cond != nil {
			return tr.cond.Src
		}
	}
	return ""
}

// String is the trace as a person reads it, one fact a line.
func (tr *Trace) String() string {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	lang := tr.Lang
	if lang == "" {
		lang = "unsure"
	}
	line("language: %s, replies in %s", lang, tr.ReplyLang)
	if tr.Intent != "" {
		oos := ""
		if tr.OutOfScope {
			oos = ", out of scope"
		}
		line("intent: %s %.2f%s", tr.Intent, tr.Score, oos)
	}
	if len(tr.Top) > 0 {
		var s []string
		for _, x := range tr.Top {
			s = append(s, fmt.Sprintf("%s %.2f", x.Label, x.Score))
		}
		line("top: %s", strings.Join(s, ", "))
	}
	if tr.FAQ != "" {
		line("faq: %s", tr.FAQ)
	}
	if len(tr.Explain) > 0 {
		line("because: %s", strings.Join(tr.Explain, "; "))
	}
	neg := ""
	if tr.Negative {
		neg = ", negative"
	}
	line("sentiment: %.2f%s%s", tr.Sentiment, neg, evidence(tr.SentimentEvidence))
	if tr.HumanRequested {
		line("asks for a person%s", evidence(tr.HumanEvidence))
	}
	if tr.Trigger != "" {
		line("trigger: %s", tr.Trigger)
	}
	if tr.Escalation != "" {
		line("escalation: %s", tr.Escalation)
	}
	for _, br := range tr.Branches {
		line("branch: %s: %s -> %s", br.Node, br.If, br.Goto)
	}
	if len(tr.Nodes) > 0 {
		line("nodes: %s", strings.Join(tr.Nodes, " -> "))
	}
	if len(tr.Answered) > 0 {
		line("faq shown: %s", strings.Join(tr.Answered, ", "))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func evidence(ev []string) string {
	if len(ev) == 0 {
		return ""
	}
	q := make([]string, len(ev))
	for i, e := range ev {
		q[i] = fmt.Sprintf("%q", e)
	}
	return " (" + strings.Join(q, ", ") + ")"
}
