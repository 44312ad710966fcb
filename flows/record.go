package flows

import (
	"math"
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
	if t.tookAnswer {
		// An order number or a name: what the classifier makes of it says
		// nothing, and it need not run.
		t.event("understood", nil, map[string]string{"kind": "answer", "lang": t.st.Lang})
		return
	}
	t.need(eval.UsesIntent | eval.UsesSentiment)
	sentiment, negative, ev := env.Sentiment, env.Negative, t.sentimentEvidence
	if u.scorer == nil {
		s := sharedScorer().ScorePrepared(t.prepare())
		sentiment, negative, ev = s.Score, s.Negative, s.Evidence
	}
	kind := "none"
	switch {
	case env.OutOfScope || env.Intent == "":
	case env.FAQ.ID != "":
		kind = "faq"
	default:
		kind = "intent"
	}
	d := make(map[string]string, 8) // one map group: 8 fit, 6 usual
	d["kind"] = kind
	if env.Intent != "" {
		d["intent"] = env.Intent
		d["score"] = twoDecimals(env.IntentScore)
	}
	if env.FAQ.ID != "" {
		d["faq"] = env.FAQ.ID
	}
	if env.OutOfScope {
		d["oos"] = "1"
	}
	d["sentiment"] = twoDecimals(sentiment)
	if negative {
		d["negative"] = "1"
		if len(ev) > 0 {
			d["evidence"] = strings.Join(ev, "; ")
		}
	}
	d["lang"] = t.st.Lang
	t.event("understood", nil, d)
}

// hundredths are the texts of -1.00 ... 1.00: scores and sentiment are
// in that range, and a table saves two allocations a message.
var hundredths = func() (t [201]string) {
	for i := range t {
		t[i] = strconv.FormatFloat(float64(i-100)/100, 'f', 2, 64)
	}
	return t
}()

// twoDecimals formats x with two decimals, as FormatFloat does, from the
// table when it is there (formatted on the stack and compared: the table
// is never trusted to round).
func twoDecimals(x float64) string {
	var b [24]byte
	f := strconv.AppendFloat(b[:0], x, 'f', 2, 64)
	if x >= -1 && x <= 1 {
		i := int(math.Round(x*100)) + 100
		for _, k := range [3]int{i, i - 1, i + 1} {
			if k >= 0 && k < len(hundredths) && hundredths[k] == string(f) {
				return hundredths[k]
			}
		}
	}
	return string(f)
}
