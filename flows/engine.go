package flows

import (
	"context"
	"errors"
	"fmt"
	"github.com/parley-chat/parley/flows/nlu"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	// project file's allowed_hosts. A Settings override that points a URL
	// at another host needs that host here too.
	AllowedHosts []string
	// Settings are merged over the project file's settings (a key here
	// wins): the runtime points settings.orders_api at the deployment's
	// own endpoint without editing parley.yaml. Values are kept in JSON's
	// types (numbers become float64). Expressions can only read settings
	// parley.yaml declares (lint checks that), so a key it lacks is
	// unused.
	Settings map[string]any
	// MaxSteps bounds the nodes run in one turn, so a loop without a wait
	// cannot spin; default 100.
	MaxSteps int
	// Now is the clock used when an Input carries no time.
	Now func() time.Time
	// MaxResponseBytes bounds an http node's response body; default 1 MiB.
	MaxResponseBytes int64
	// Hours tells whether the support team works at a time and, when not,
	// when it is back: cmd passes the human queue's business hours, so
	// `hours.open` in a flow and the queue's out-of-hours notice agree.
	// nil: always open.
	Hours func(at time.Time) (open bool, opensAt time.Time)
	// Secrets are the values of the project's secrets by name (ReadSecrets
	// reads them from the environment and a file). http nodes read them as
	// secret.NAME; they never reach a message, a variable, an event or an
	// error text. A declared secret without a value fails the calls that
	// read it.
	Secrets map[string]string
}

// Engine runs a compiled project. It is safe for concurrent Step calls on
// different states.
type Engine struct {
	p        *Project
	opts     Options
	hosts    []string
	settings map[string]any    // the project's, with Options.Settings over them
	secrets  map[string]string // the declared ones that have a value
	// noSecret names the declared secrets without a value, for the error.
	noSecret []string
	http     Doer
	// turns recycles the working state of a step (and its expression VM,
	// which is not safe for concurrent use): one less large allocation per
	// message.
	turns sync.Pool
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
	e := &Engine{p: p, opts: opts, hosts: p.allowedHosts, settings: p.settings}
	if len(opts.Settings) > 0 {
		// A copy: the project is shared by engines, and the caller's map may
		// change after this returns.
		e.settings = make(map[string]any, len(p.settings)+len(opts.Settings))
		for k, v := range p.settings {
			e.settings[k] = v
		}
		for k, v := range opts.Settings {
			e.settings[k] = jsonValue(v)
		}
		e.opts.Settings = nil // merged: the caller's map is not kept
	}
	if len(opts.AllowedHosts) > 0 {
		e.hosts = nil
		for _, h := range opts.AllowedHosts {
			e.hosts = append(e.hosts, strings.ToLower(h))
		}
	}
	if opts.HTTP != nil {
		e.http = guardRedirects(opts.HTTP, e.hosts)
	}
	e.secrets, e.noSecret = pickSecrets(p.secrets, opts.Secrets)
	e.opts.Secrets = nil // picked: the caller's map is not kept
	e.turns.New = func() any { return &turn{vm: eval.NewVM()} }
	return e
}

// Project is the project the engine runs.
func (e *Engine) Project() *Project { return e.p }

// maxInputRunes bounds the customer text expressions see.
const maxInputRunes = 4096

// turnBuf holds what a turn usually outputs: a few messages and events.
// A turn that needs more grows the slices past it.
type turnBuf struct {
	out [6]Output
	evs [5]EventRecord // five fit in the same size class as four
}

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
	// prep is the message prepared once for the classifier, the scorer and
	// the person-request check (nil until one of them is needed).
	prep *nlu.Prepared
	// have is what of Env's costly parts is computed for this message.
	have eval.Uses
	// trace is built for an Input with Debug set, nil otherwise.
	trace *Trace
	evs   []EventRecord
	// greeted is Input.Greeted; first is set while the first message of a
	// conversation is being answered (first.go).
	greeted bool
	first   firstTurn
	// langGuessed: nothing told this turn's language; the default is used
	// and not kept in the session.
	langGuessed bool
	// typed: the customer typed the message (no button answered); its
	// understanding is recorded (record.go). tookAnswer: a question that
	// validates or saves its answer accepted it.
	typed, tookAnswer bool
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

// Buffer is memory for the outputs of a step that a caller reuses from one
// message to the next (StepInto): a worker that keeps one saves the largest
// allocation of a turn. The zero value is ready to use.
type Buffer struct{ b turnBuf }

func (e *Engine) begin(ctx context.Context, st State, in Input, reuse *Buffer) *turn {
	t := e.turns.Get().(*turn)
	// The outputs and event records a typical turn makes come in one
	// allocation; both belong to the caller once Step returns.
	var buf *turnBuf
	if reuse != nil {
		buf = &reuse.b
		// Nothing of the previous conversation stays reachable from here.
		clear(buf.out[:])
		clear(buf.evs[:])
	} else {
		buf = new(turnBuf)
	}
	// The pooled turn is zero but for its VM (finish cleared it).
	t.e, t.ctx, t.st, t.out, t.evs = e, ctx, st, buf.out[:0], buf.evs[:0]
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
	env.Attachments, env.Attachment = envAttachments(in.Attachments)
	env.Now = t.now.In(e.p.loc)
	env.Hours = eval.Hours{Open: true}
	if e.opts.Hours != nil {
		env.Hours.Open, env.Hours.OpensAt = e.opts.Hours(t.now)
	}
	env.Contact = eval.Contact{ID: in.Contact.ID, Name: in.Contact.Name, Lang: in.Contact.Lang, Fields: in.Contact.Fields}
	env.Vars = st.Vars
	env.Settings = e.settings
	env.Params = st.Params
	env.Flow, env.Node = st.Flow, st.Node
	env.Fallbacks = st.Fallbacks
	env.Retries = st.Retries
	// A number answers the Nth button of the last message (channels that
	// show buttons as a numbered list); a typed label answers its button.
	if env.Payload == "" && len(st.Buttons) > 0 {
		env.Payload = buttonPayload(st.Buttons, text)
	}
	t.greeted = in.Greeted
	t.typed = env.Payload == ""
	if in.Debug {
		t.trace = &Trace{}
	}
	t.setLang(in)
	return t
}

// buttonPayload is the value of the button text answers: its number in
// the list or its label; "" when it answers none.
func buttonPayload(buttons []Button, text string) string {
	s := strings.TrimSpace(text)
	if k, ok := buttonNumber(s); ok && k >= 1 && k <= len(buttons) {
		return buttons[k-1].Value
	}
	// EqualFold matches rune for rune: a label with another number of
	// runes cannot match, and counting is cheaper than folding.
	n := utf8.RuneCountInString(s)
	for _, b := range buttons {
		if l := strings.TrimSpace(b.Text); utf8.RuneCountInString(l) == n && strings.EqualFold(l, s) {
			return b.Value
		}
	}
	return ""
}

// buttonNumber reads a number of at most two characters as strconv.Atoi
// does ("3", "03", "+3"), without the error Atoi allocates for text.
func buttonNumber(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 {
		return 0, false
	}
	if s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (t *turn) finish() (State, []Output, error) {
	if t.trace != nil {
		t.finishTrace()
	}
	t.st.Version = t.e.p.Version
	t.st.Fallbacks = t.env.Fallbacks
	t.st.Retries = t.env.Retries
	t.st.Vars = t.env.Vars
	if t.langGuessed {
		t.st.Lang = "" // a default, not the customer's choice: not kept
	}
	st, out, e := t.st, t.out, t.e
	if t.prep != nil {
		t.prep.Reset("") // the customer's words do not wait in a pool
		prepared.Put(t.prep)
	}
	*t = turn{vm: t.vm} // keep nothing of this conversation in the pool
	e.turns.Put(t)
	return st, out, nil
}

func (t *turn) setLang(in Input) {
	t.st.Lang = t.replyLang(in)
	t.env.Lang = t.st.Lang
}

// Step runs one customer message through the conversation.
func (e *Engine) Step(ctx context.Context, st State, in Input) (State, []Output, error) {
	return e.StepInto(ctx, st, in, nil)
}

// StepInto is Step with its outputs written into buf, which a caller reuses
// for its next message; the outputs (and the event records they point to)
// are only valid until then. A nil buf is Step.
func (e *Engine) StepInto(ctx context.Context, st State, in Input, buf *Buffer) (State, []Output, error) {
	if err := ctx.Err(); err != nil {
		return st, nil, err
	}
	if in.Trigger != nil {
		return e.trigger(ctx, st, in, buf)
	}
	t := e.begin(ctx, st, in, buf)
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
		t.recordUnderstood()
		return t.finish()
	}
	cur := t.current()
	switch {
	case cur == nil || t.st.Ended:
		t.restart()
	case t.st.Waiting:
		// A deadline recorded by an older version whose node no longer
		// times out is ignored.
		if t.expired() && cur.onTimeout != nil {
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
	t.recordUnderstood()
	return t.finish()
}

// ErrUnknownFlow: a trigger names a flow the project does not have.
var ErrUnknownFlow = errors.New("flows: unknown flow")

// HasFlow reports whether the project has a flow named name.
func (e *Engine) HasFlow(name string) bool { return e.p.flows[name] != nil }

// trigger starts in.Trigger's flow as a new conversation (variables of the
// previous one dropped, the language kept), its params in the session.
// Whether the conversation may be interrupted is the runtime's decision.
func (e *Engine) trigger(ctx context.Context, st State, in Input, buf *Buffer) (State, []Output, error) {
	f := e.p.flows[in.Trigger.Flow]
	if f == nil {
		return st, nil, fmt.Errorf("%w %q", ErrUnknownFlow, in.Trigger.Flow)
	}
	in.Text, in.Payload = "", ""
	t := e.begin(ctx, st, in, buf)
	t.migrate()
	var params map[string]any
	if len(in.Trigger.Params) > 0 {
		params = make(map[string]any, len(in.Trigger.Params))
		for k, v := range in.Trigger.Params {
			params[k] = jsonValue(v)
		}
	}
	t.st = State{Lang: t.st.Lang, Turns: t.st.Turns, Version: t.st.Version, Params: params}
	t.env.Vars, t.varsOwned = nil, false
	t.env.Fallbacks, t.env.Retries = 0, 0
	t.env.Params = params
	t.env.Flow, t.env.Node = f.name, ""
	t.event("triggered", nil, map[string]string{"flow": f.name})
	t.run(f.start)
	return t.finish()
}

// Resume continues a conversation a human handed back to the bot, at the
// handoff's resume point. No input is consumed.
func (e *Engine) Resume(ctx context.Context, st State, in Input) (State, []Output, error) {
	if err := ctx.Err(); err != nil {
		return st, nil, err
	}
	t := e.begin(ctx, st, in, nil)
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
	t := e.begin(ctx, st, in, nil)
	t.migrate()
	if cur := t.current(); cur != nil && cur.onTimeout != nil && t.st.Waiting && !t.st.InHandoff && t.expired() {
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
	t.start(f.start)
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
		t.say(tr.say, buttonList{}, nil, nil)
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
// A question (ask) is asked again; a bare wait would resume in silence, so
// the conversation goes to the safe node instead.
func (t *turn) resumeHere() *node {
	if n := t.current(); n != nil && t.st.Waiting && !t.st.Ended && n.kind == kAsk {
		return n
	}
	return t.e.p.safe
}

// langCode reduces a channel's language tag ("en-US", "ru_RU") to the
// project's two-letter codes.
func langCode(tag string) string {
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// envAttachments are a message's attachments for expressions: the list and
// its first (zero without any).
func envAttachments(in []Attachment) ([]eval.Attachment, eval.Attachment) {
	if len(in) == 0 {
		return nil, eval.Attachment{}
	}
	out := make([]eval.Attachment, len(in))
	for i, a := range in {
		out[i] = eval.Attachment{Kind: a.Kind, Name: a.Name, Type: a.Type, Size: int(a.Size), Ref: a.Ref}
	}
	return out, out[0]
}
