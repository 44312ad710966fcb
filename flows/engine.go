package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/parley-chat/parley/flows/eval"
)

// Doer makes HTTP requests for http nodes; *http.Client implements it.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Options configure an Engine. The zero value is usable: http nodes then
// fail to their error branch.
type Options struct {
	// HTTP makes the calls of http nodes; nil means every call fails.
	HTTP Doer
	// AllowedHosts are the hosts http nodes may call; empty means the
	// project file's allowed_hosts.
	AllowedHosts []string
	// MaxSteps bounds the nodes run in one turn, so a loop without a wait
	// cannot spin; default 100.
	MaxSteps int
	// Now is the clock used when an Input carries no time.
	Now func() time.Time
	// MaxResponseBytes bounds an http node's response body; default 1 MiB.
	MaxResponseBytes int64
}

// Engine runs a compiled project. It is safe for concurrent Step calls on
// different states.
type Engine struct {
	p     *Project
	opts  Options
	hosts []string
	vms   sync.Pool
}

// NewEngine returns an engine for p.
func (p *Project) NewEngine(opts Options) *Engine {
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 1 << 20
	}
	e := &Engine{p: p, opts: opts, hosts: p.allowedHosts}
	if len(opts.AllowedHosts) > 0 {
		e.hosts = nil
		for _, h := range opts.AllowedHosts {
			e.hosts = append(e.hosts, strings.ToLower(h))
		}
	}
	e.vms.New = func() any { return eval.NewVM() }
	return e
}

// Project is the project the engine runs.
func (e *Engine) Project() *Project { return e.p }

// maxInputRunes bounds the customer text expressions see.
const maxInputRunes = 4096

// turn is the working state of one Step.
type turn struct {
	e         *Engine
	ctx       context.Context
	st        State
	varsOwned bool
	env       eval.Env
	out       []Output
	vm        *vm.VM
	steps     int
	now       time.Time

	sentimentEvidence, humanEvidence []string
	// have is what of Env's costly parts is computed for this message.
	have eval.Uses
}

// cond runs a condition, computing first what it reads of the message's
// understanding.
func (t *turn) cond(p *eval.Program) (bool, error) {
	t.need(p.Uses)
	return p.Bool(t.vm, &t.env)
}

func (t *turn) value(p *eval.Program) (any, error) {
	t.need(p.Uses)
	return p.Eval(t.vm, &t.env)
}

func (e *Engine) begin(ctx context.Context, st State, in Input) *turn {
	t := &turn{e: e, ctx: ctx, st: st, out: make([]Output, 0, 8)}
	t.vm = e.vms.Get().(*vm.VM)
	t.now = in.Now
	if t.now.IsZero() {
		t.now = e.opts.Now()
	}
	text := in.Text
	if len(text) > maxInputRunes*4 {
		text = string([]rune(text)[:maxInputRunes])
	}
	env := &t.env
	env.Text = text
	env.Norm = normalize(text)
	env.Payload = in.Payload
	env.Channel = in.Channel
	env.Now = t.now
	env.Contact = eval.Contact{ID: in.Contact.ID, Name: in.Contact.Name, Lang: in.Contact.Lang, Fields: in.Contact.Fields}
	env.Vars = st.Vars
	env.Settings = e.p.settings
	env.Flow, env.Node = st.Flow, st.Node
	env.Fallbacks = st.Fallbacks
	env.Retries = st.Retries
	// A number answers the Nth button of the last message (channels that
	// show buttons as a numbered list); a typed label answers its button.
	if env.Payload == "" && len(st.Buttons) > 0 {
		s := strings.TrimSpace(text)
		if k, err := strconv.Atoi(s); err == nil && k >= 1 && k <= len(st.Buttons) && len(s) <= 2 {
			env.Payload = st.Buttons[k-1].Value
		} else {
			for _, b := range st.Buttons {
				if strings.EqualFold(strings.TrimSpace(b.Text), s) {
					env.Payload = b.Value
					break
				}
			}
		}
	}
	t.setLang(in)
	return t
}

func (t *turn) finish() (State, []Output, error) {
	t.e.vms.Put(t.vm)
	t.st.Version = t.e.p.Version
	t.st.Fallbacks = t.env.Fallbacks
	t.st.Retries = t.env.Retries
	t.st.Vars = t.env.Vars
	return t.st, t.out, nil
}

func (t *turn) setLang(in Input) {
	p := t.e.p
	if l := in.Contact.Lang; l != "" && slices.Contains(p.Languages, l) {
		t.st.Lang = l
	}
	if t.st.Lang == "" {
		t.st.Lang = t.detectLang(in.Text)
	}
	t.env.Lang = t.st.Lang
}

// Step runs one customer message through the conversation.
func (e *Engine) Step(ctx context.Context, st State, in Input) (State, []Output, error) {
	if err := ctx.Err(); err != nil {
		return st, nil, err
	}
	t := e.begin(ctx, st, in)
	t.st.Turns++
	t.migrate()
	t.understand()
	if t.st.InHandoff {
		// A human has the conversation: only triggers marked
		// during_handoff may act; otherwise the message is for the agent.
		if tr := t.matchTrigger(true); tr != nil {
			t.fire(tr)
		}
		return t.finish()
	}
	if tr := t.matchTrigger(false); tr != nil {
		t.fire(tr)
		return t.finish()
	}
	cur := t.current()
	switch {
	case cur == nil || t.st.Ended:
		t.restart()
	case t.st.Waiting:
		if t.expired() {
			t.timeout(cur)
			if n := t.current(); n != nil && t.st.Waiting {
				t.answer(n)
			}
		} else {
			t.answer(cur)
		}
	default:
		t.run(cur)
	}
	return t.finish()
}

// Resume continues a conversation a human handed back to the bot, at the
// handoff's resume point. No input is consumed.
func (e *Engine) Resume(ctx context.Context, st State, in Input) (State, []Output, error) {
	if err := ctx.Err(); err != nil {
		return st, nil, err
	}
	t := e.begin(ctx, st, in)
	t.migrate()
	if !t.st.InHandoff {
		return t.finish()
	}
	t.st.InHandoff = false
	t.env.Fallbacks, t.env.Retries = 0, 0
	n := t.e.p.lookup(t.st.Resume)
	t.st.Resume = ""
	t.event("resumed", nil, nil)
	if n == nil {
		n = t.e.p.safe
	}
	t.st.Stack = nil
	t.run(n)
	return t.finish()
}

// Timeout fires the timeout branch of a waiting node whose deadline passed
// (the runtime calls it at State.WaitDeadline); otherwise it does nothing.
func (e *Engine) Timeout(ctx context.Context, st State, in Input) (State, []Output, error) {
	if err := ctx.Err(); err != nil {
		return st, nil, err
	}
	t := e.begin(ctx, st, in)
	t.migrate()
	if cur := t.current(); cur != nil && t.st.Waiting && !t.st.InHandoff && t.expired() {
		t.timeout(cur)
	}
	return t.finish()
}

func (t *turn) expired() bool {
	return t.st.Waiting && t.st.Deadline != 0 && t.now.Unix() >= t.st.Deadline
}

func (t *turn) timeout(n *node) {
	t.st.Waiting, t.st.Deadline = false, 0
	t.event("wait_timeout", n, nil)
	if n.onTimeout != nil {
		t.run(n.onTimeout)
	}
}

// current is the node the session is at, nil for a new conversation.
func (t *turn) current() *node {
	if t.st.Flow == "" {
		return nil
	}
	f := t.e.p.flows[t.st.Flow]
	if f == nil {
		return nil
	}
	return f.nodes[t.st.Node]
}

// lookup resolves "flow.node".
func (p *Project) lookup(ref string) *node {
	fname, nid, _ := strings.Cut(ref, ".")
	if f := p.flows[fname]; f != nil {
		return f.nodes[nid]
	}
	return nil
}

// restart begins the conversation again at the start flow, keeping the
// language; variables of the previous conversation are dropped.
func (t *turn) restart() {
	t.st = State{Lang: t.st.Lang, Turns: t.st.Turns, Version: t.st.Version}
	t.env.Vars, t.varsOwned = nil, false
	t.env.Fallbacks, t.env.Retries = 0, 0
	f := t.e.p.flows[t.e.p.StartFlow]
	t.run(f.start)
}

// matchTrigger returns the first global trigger, by priority, whose
// condition holds for this message.
func (t *turn) matchTrigger(inHandoff bool) *trigger {
	if t.env.Text == "" && t.env.Payload == "" {
		return nil
	}
	for _, tr := range t.e.p.triggers {
		if inHandoff && !tr.duringHandoff {
			continue
		}
		ok, err := t.cond(tr.cond)
		if err != nil {
			t.errorEvent(nil, "trigger "+tr.id, err)
			continue
		}
		if ok {
			return tr
		}
	}
	return nil
}

func (t *turn) fire(tr *trigger) {
	t.event("trigger", t.current(), map[string]string{"trigger": tr.id})
	if tr.say != nil {
		t.say(tr.say, nil, nil, nil)
	}
	if tr.handoff != nil || tr.reason != "" {
		t.requestHandoff(tr.handoff, tr.reason, t.resumeHere())
		return
	}
	if tr.target != nil {
		t.st.Stack = nil
		t.st.InHandoff, t.st.Ended, t.st.Waiting, t.st.Deadline, t.st.Resume = false, false, false, 0, ""
		t.env.Fallbacks, t.env.Retries = 0, 0
		t.run(tr.target)
	}
}

// resumeHere is where a conversation interrupted now continues later.
func (t *turn) resumeHere() *node {
	if n := t.current(); n != nil && t.st.Waiting && !t.st.Ended {
		return n
	}
	return t.e.p.safe
}

// answer handles the customer's answer at a waiting node.
func (t *turn) answer(n *node) {
	if n.validate != nil {
		ok, err := t.cond(n.validate)
		if err != nil {
			t.errorEvent(n, "validate", err)
		}
		if !ok {
			t.misunderstood(n, false)
			return
		}
	}
	t.st.Waiting, t.st.Deadline = false, 0
	if n.save != "" {
		v := t.env.Payload
		if v == "" {
			v = t.env.Text
		}
		t.setVar(n.save, v)
	}
	t.assign(n, n.set)
	if len(n.cases) > 0 {
		for _, bc := range n.cases {
			ok, err := t.cond(bc.cond)
			if err != nil {
				t.errorEvent(n, "branch", err)
				continue
			}
			if ok {
				t.understood()
				t.run(bc.target)
				return
			}
		}
		if n.next == nil {
			// An answer that passed validation was understood even if no
			// branch took it; without validation it was not.
			if n.validate != nil && n.els != nil {
				t.understood()
				t.run(n.els)
				return
			}
			if t.misunderstood(n, true) {
				return
			}
			if n.els != nil {
				t.st.Waiting = false
				t.run(n.els)
			}
			return
		}
	}
	t.understood()
	t.run(n.next)
}

func (t *turn) understood() {
	t.env.Fallbacks, t.env.Retries = 0, 0
}

// misunderstood counts a failed validation or an answer no branch
// matched; it gives up to on_fail when the node's retries ran out (the
// flow's own plan wins), escalates when the project's policy says so, and
// otherwise retries. It reports whether it handled the turn
// (the caller must not go on to an else branch).
func (t *turn) misunderstood(n *node, noMatch bool) bool {
	t.env.Fallbacks++
	t.env.Retries++
	t.event("fallback", n, nil)
	if n.maxRetries > 0 && t.env.Retries > n.maxRetries && n.onFail != nil {
		t.st.Waiting, t.st.Deadline = false, 0
		t.env.Retries = 0
		t.run(n.onFail)
		return true
	}
	if esc := t.e.p.escalation.notUnderstood; esc != nil {
		ok, err := t.cond(esc)
		if err != nil {
			t.errorEvent(n, "escalation.not_understood", err)
		}
		if ok {
			t.requestHandoffReason(ReasonNotUnderstood, t.e.p.escalation.priority,
				[]string{fmt.Sprintf("%d misunderstood messages in a row", t.env.Fallbacks), t.env.Text}, n)
			return true
		}
	}
	if noMatch && n.els != nil {
		// No branch matched and the node has an else: that is where it goes.
		return false
	}
	// The retry repeats the choices: the node's own buttons, or for a wait
	// the buttons of the message it waits after.
	buttons := n.buttons
	keep := t.st.Buttons
	if n.retry != nil {
		t.say(n.retry, buttons, nil, nil)
	} else if n.say != nil {
		t.say(n.say, buttons, n.image, nil)
	}
	if len(buttons) == 0 && len(keep) > 0 && len(t.out) > 0 && t.out[len(t.out)-1].Kind == Say {
		t.out[len(t.out)-1].Buttons = keep
		t.st.Buttons = keep
	}
	t.st.Waiting = true
	return true
}

// run executes nodes from n until one waits, hands off or ends.
func (t *turn) run(n *node) {
	for n != nil {
		t.steps++
		if t.steps > t.e.opts.MaxSteps {
			t.errorEvent(n, "run", fmt.Errorf("step limit %d reached: a loop without a wait?", t.e.opts.MaxSteps))
			t.st.Waiting, t.st.Ended, t.st.Stack = false, true, nil
			return
		}
		t.enter(n)
		switch n.kind {
		case kSay:
			t.say(n.say, n.buttons, n.image, n.link)
			n = t.next(n)
		case kAsk, kWait:
			if n.kind == kAsk && n.say != nil {
				t.say(n.say, n.buttons, n.image, nil)
			}
			t.st.Waiting = true
			t.env.Retries = 0
			t.st.Deadline = 0
			if n.timeout > 0 {
				t.st.Deadline = t.now.Add(n.timeout).Unix()
			}
			return
		case kSet:
			t.assign(n, n.set)
			n = t.next(n)
		case kBranch:
			n = t.branch(n)
		case kGoto:
			n = n.target
		case kCall:
			if len(t.st.Stack) >= MaxCallDepth {
				t.errorEvent(n, "call", fmt.Errorf("call depth limit %d reached: a flow calling itself?", MaxCallDepth))
				t.st.Waiting, t.st.Ended, t.st.Stack = false, true, nil
				return
			}
			ret := ""
			if n.next != nil {
				ret = n.next.id
			}
			t.st.Stack = append(slices.Clip(t.st.Stack), Frame{Flow: n.flow.name, Node: ret})
			n = n.call.start
		case kHTTP:
			n = t.http(n)
		case kHandoff:
			resume := n.next
			if resume == nil {
				resume = t.e.p.safe
			}
			t.requestHandoff(n.handoff, "", resume)
			return
		case kEnd:
			t.end()
			return
		}
	}
}

func (t *turn) enter(n *node) {
	t.st.Flow, t.st.Node = n.flow.name, n.id
	t.st.Waiting, t.st.Ended = false, false
	t.event("node", n, nil)
}

// next is the node after n: its next, or the caller's continuation when
// the flow ends inside a call, or nil when the conversation ends.
func (t *turn) next(n *node) *node {
	if n.next != nil {
		return n.next
	}
	for len(t.st.Stack) > 0 {
		fr := t.st.Stack[len(t.st.Stack)-1]
		t.st.Stack = slices.Clip(t.st.Stack[:len(t.st.Stack)-1])
		if fr.Node == "" {
			continue // the caller had nothing after the call: its flow ends too
		}
		if f := t.e.p.flows[fr.Flow]; f != nil {
			if r := f.nodes[fr.Node]; r != nil {
				return r
			}
		}
	}
	t.end()
	return nil
}

func (t *turn) end() {
	t.st.Ended, t.st.Waiting, t.st.Stack, t.st.Deadline = true, false, nil, 0
	t.out = append(t.out, Output{Kind: End})
}

func (t *turn) branch(n *node) *node {
	for _, bc := range n.cases {
		ok, err := t.cond(bc.cond)
		if err != nil {
			t.errorEvent(n, "branch", err)
			continue
		}
		if ok {
			return bc.target
		}
	}
	return n.els
}

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
	if resume == nil {
		resume = t.e.p.safe
	}
	t.handoffOut(reason, prio, "", evidence, resume)
}

func (t *turn) handoffOut(reason, prio, note string, evidence []string, resume *node) {
	vars := make(map[string]string, len(t.env.Vars))
	for k, v := range t.env.Vars {
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
func (t *turn) say(tx *text, buttons []button, image, link *eval.Template) {
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
	if len(buttons) > 0 {
		o.Buttons = make([]Button, len(buttons))
		for i, b := range buttons {
			o.Buttons[i] = Button{Text: t.renderText(b.text), Value: b.value}
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
	ev := &EventRecord{Name: name, Data: data}
	if n != nil {
		ev.Flow, ev.Node = n.flow.name, n.id
	}
	t.out = append(t.out, Output{Kind: Event, Event: ev})
}

func (t *turn) errorEvent(n *node, where string, err error) {
	t.event("error", n, map[string]string{"where": where, "error": err.Error()})
}
