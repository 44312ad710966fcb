package flows

import (
	"strconv"
	"strings"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// record is a node's `record:`: an analytics event the flow names, such
// as a "did you mean" answered yes or no. The engine cannot know what a
// flow's question means; the lead who wrote it can say.
type record struct {
	name string
	data []assign
}

// reservedEvents are the events the engine, the runtime and handoff
// write: a flow writing one would corrupt the reports that read them.
var reservedEvents = map[string]bool{
	"node": true, "fallback": true, "error": true, "migrated": true, "trigger": true,
	"wait_timeout": true, "resumed": true, "understood": true, "message_in": true,
	"message_out": true, "handoff_requested": true, "conversation_end": true,
}

func (c *compiler) record(sr *syntax.Record) *record {
	if sr == nil || sr.Name == nil {
		return nil
	}
	name := sr.Name.Value
	switch {
	case !idRE.MatchString(name):
		c.errorf(sr.Name.Pos, sr.Path+".name", "event name %q: want letters, digits and _, starting with a letter", name)
		return nil
	case reservedEvents[name]:
		c.errorf(sr.Name.Pos, sr.Path+".name", "event %q is written by Parley itself: choose another name", name)
		return nil
	}
	rec := &record{name: name}
	for _, a := range sr.Data {
		if !idRE.MatchString(a.Target.Value) {
			c.errorf(a.Target.Pos, a.Path, "data key %q: want letters, digits and _, starting with a letter", a.Target.Value)
			continue
		}
		rec.data = append(rec.data, assign{name: a.Target.Value, prog: c.ec.Value(a.Expr, a.Path)})
	}
	return rec
}

// emitRecord writes n's record event, its data formatted as text.
func (t *turn) emitRecord(n *node) {
	r := n.record
	var data map[string]string
	if len(r.data) > 0 {
		data = make(map[string]string, len(r.data))
	}
	for _, a := range r.data {
		v, err := t.value(a.prog)
		if err != nil {
			t.errorEvent(n, "record "+a.name, err)
			continue
		}
		data[a.name] = eval.Format(v)
	}
	t.event(r.name, n, data)
}

// recordUnderstood writes the `understood` event of a typed message: what
// the classifier took it for, how sure, and its feeling, so reports can
// group by FAQ entry and intent and list the messages the bot missed.
// kind is faq, intent, answer (the message answered a question that
// validates or saves it: an order number is not a miss) or none. Parts
// the turn's expressions did not read are computed here: a few µs.
func (t *turn) recordUnderstood() {
	env := &t.env
	if !t.typed || env.Text == "" || env.Text[0] == '/' {
		return
	}
	u := t.e.p.understand
	if u == nil || u.clf == nil {
		return // no knowledge base: nothing was classified
	}
	t.need(eval.UsesIntent | eval.UsesSentiment)
	sentiment, negative, ev := env.Sentiment, env.Negative, t.sentimentEvidence
	if u.scorer == nil {
		s := sharedScorer().ScorePrepared(t.prepare())
		sentiment, negative, ev = s.Score, s.Negative, s.Evidence
	}
	kind := "none"
	switch {
	case t.tookAnswer:
		kind = "answer"
	case env.OutOfScope || env.Intent == "":
	case env.FAQ.ID != "":
		kind = "faq"
	default:
		kind = "intent"
	}
	d := make(map[string]string, 9)
	d["kind"] = kind
	if env.Intent != "" {
		d["intent"] = env.Intent
		d["score"] = strconv.FormatFloat(env.IntentScore, 'f', 2, 64)
	}
	if env.FAQ.ID != "" {
		d["faq"] = env.FAQ.ID
	}
	if env.OutOfScope {
		d["oos"] = "1"
	}
	d["sentiment"] = strconv.FormatFloat(sentiment, 'f', 2, 64)
	if negative {
		d["negative"] = "1"
		if len(ev) > 0 {
			d["evidence"] = strings.Join(ev, "; ")
		}
	}
	d["lang"] = t.st.Lang
	t.event("understood", nil, d)
}
