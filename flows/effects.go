package flows

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/parley-chat/parley/flows/eval"
)

// requestHandoff puts the conversation in the human queue: from a handoff
// node or trigger (h), or for one of the engine's own reasons.
func (t *turn) requestHandoff(h *handoffSpec, reason string, resume *node) {
	prio := t.e.p.escalation.priority
	var note string
	if h != nil {
		reason = t.render(h.reason, nil)
		if h.priority != nil {
			prio = t.render(h.priority, nil)
		} else {
			prio = "normal"
		}
		note = t.render(h.note, nil)
	}
	t.handoffOut(reason, prio, note, t.evidenceFor(reason), resume)
}

func (t *turn) requestHandoffReason(reason, prio string, evidence []string, at *node) {
	resume := at
	if resume == nil || resume.kind != kAsk {
		resume = t.e.p.safe // a bare wait would resume in silence
	}
	t.handoffOut(reason, prio, "", evidence, resume)
}

func (t *turn) handoffOut(reason, prio, note string, evidence []string, resume *node) {
	vars := make(map[string]string, len(t.env.Vars))
	for k, v := range t.env.Vars {
		if show := t.e.p.agentVars; show != nil && show[k] == nil {
			continue // a helper variable: the project's vars: does not show it to agents
		}
		vars[k] = eval.Format(v)
	}
	h := &HandoffRequest{Reason: reason, Priority: prio, Note: note, Evidence: slices.Clone(evidence), Vars: vars}
	if resume != nil {
		h.ResumeNode = resume.ref()
		t.st.Resume = h.ResumeNode
	}
	t.st.InHandoff, t.st.Waiting, t.st.Deadline = true, false, 0
	t.env.Fallbacks, t.env.Retries = 0, 0
	t.out = append(t.out, Output{Kind: Handoff, Handoff: h})
}

// say renders a message in the conversation's language.
func (t *turn) say(tx *text, buttons buttonList, image, link *eval.Template) {
	o := Output{Kind: Say, Text: t.renderText(tx)}
	if link != nil {
		if l := t.render(link, nil); l != "" {
			if o.Text != "" {
				o.Text += "\n"
			}
			o.Text += l
		}
	}
	if image != nil {
		o.Image = t.render(image, nil)
	}
	if len(buttons.items) > 0 {
		if static, ok := buttons.static[t.st.Lang]; ok {
			// A copy: the outputs and the state are the caller's.
			o.Buttons = make([]Button, len(static))
			copy(o.Buttons, static)
		} else {
			o.Buttons = make([]Button, len(buttons.items))
			for i, b := range buttons.items {
				o.Buttons[i] = Button{Text: t.renderText(b.text), Value: b.value}
			}
		}
		t.st.Buttons = o.Buttons
	} else {
		t.st.Buttons = nil
	}
	t.out = append(t.out, o)
}

func (t *turn) renderText(tx *text) string {
	if tx == nil {
		return ""
	}
	tm := tx.any
	if tx.langs != nil {
		tm = tx.langs[t.st.Lang]
		if tm == nil {
			tm = tx.langs[t.e.p.DefaultLang]
		}
	}
	if t.trace != nil {
		t.shownFAQ(tm)
	}
	return t.render(tm, nil)
}

func (t *turn) render(tm *eval.Template, n *node) string {
	if tm == nil {
		return ""
	}
	t.need(tm.Uses)
	s, err := tm.Render(t.vm, &t.env)
	if err != nil {
		if n == nil {
			n = t.current()
		}
		t.errorEvent(n, "template", err)
	}
	return s
}

// assign runs set: variables and contact fields.
func (t *turn) assign(n *node, as []assign) {
	var fields map[string]string
	for _, a := range as {
		v, err := t.value(a.prog)
		if err != nil {
			t.errorEvent(n, "set "+a.name, err)
			continue
		}
		if a.contact {
			if fields == nil {
				fields = map[string]string{}
			}
			s := eval.Format(v)
			fields[a.name] = s
			t.setContactField(a.name, s)
			continue
		}
		t.setVar(a.name, v)
	}
	if fields != nil {
		t.out = append(t.out, Output{Kind: SetContact, Fields: fields})
	}
}

func (t *turn) setContactField(name, v string) {
	switch name {
	case "lang":
		if slices.Contains(t.e.p.Languages, v) {
			t.st.Lang, t.env.Lang, t.env.Contact.Lang = v, v, v
		}
	case "name":
		t.env.Contact.Name = v
	}
	f := make(map[string]string, len(t.env.Contact.Fields)+1)
	for k, x := range t.env.Contact.Fields {
		f[k] = x
	}
	f[name] = v
	t.env.Contact.Fields = f
}

// setVar stores a variable in JSON's own types, so a stored and reloaded
// State behaves the same. The map is copied on the first write of a turn:
// the caller's State is never mutated.
func (t *turn) setVar(name string, v any) {
	if !t.varsOwned {
		m := make(map[string]any, len(t.env.Vars)+1)
		for k, x := range t.env.Vars {
			m[k] = x
		}
		t.env.Vars, t.varsOwned = m, true
	}
	v = jsonValue(v)
	switch v.(type) {
	case map[string]any, []any:
		// Structured values come from http answers: keep sessions small.
		if b, err := json.Marshal(v); err != nil || len(b) > MaxVarBytes {
			t.errorEvent(t.current(), "set "+name, fmt.Errorf("value of %d bytes is over the %d-byte limit for a variable", len(b), MaxVarBytes))
			return
		}
	case string:
		if len(v.(string)) > MaxVarBytes {
			t.errorEvent(t.current(), "set "+name, fmt.Errorf("text of %d bytes is over the %d-byte limit for a variable", len(v.(string)), MaxVarBytes))
			return
		}
	}
	t.env.Vars[name] = v
}

// Limits on a session, so stored states stay small.
const (
	MaxCallDepth = 16       // nested sub-flow calls
	MaxVarBytes  = 16 << 10 // one variable, as JSON
)

func (t *turn) event(name string, n *node, data map[string]string) {
	// Records are carved from slabs (the first comes with the turn's
	// outputs): one allocation instead of one per event. A full slab is
	// replaced, never grown, so earlier records stay where they are.
	if len(t.evs) == cap(t.evs) {
		t.evs = make([]EventRecord, 0, 8)
	}
	t.evs = append(t.evs, EventRecord{Name: name, Data: data})
	ev := &t.evs[len(t.evs)-1]
	if n != nil {
		ev.Flow, ev.Node = n.flow.name, n.id
	}
	t.out = append(t.out, Output{Kind: Event, Event: ev})
}

func (t *turn) errorEvent(n *node, where string, err error) {
	t.event("error", n, map[string]string{"where": where, "error": err.Error()})
	if t.trace != nil {
		at := where
		if n != nil {
			at = n.ref() + " " + where
		}
		t.trace.Errors = append(t.trace.Errors, at+": "+err.Error())
	}
}
