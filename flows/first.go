package flows

import (
	"context"
	"maps"
	"strings"
)

// A conversation's first message is answered like any other. The start
// node greets, and the same message is then the answer to the first node
// that waits, so "А доставка платная?" gets the greeting and the answer in
// one turn instead of the greeting alone. Every project gets this without
// writing anything for it. Not answered: a start command ("/start", which
// Telegram sends when a chat opens, with or without a deep-link argument),
// and a button pressed in an earlier conversation the customer cannot see
// the start of, and an ask the start runs into: its question is new to the
// customer (all three are answered when the channel showed the opening:
// Input.Greeted).

// Opening is what a new conversation shows before the customer writes: the
// start flow run up to its first wait, in in.Contact.Lang when the project
// has that language (else the project's default). Nothing is stored or
// returned of the state: the conversation begins with the customer's first
// message, which the channel sends with Input.Greeted so the greeting is
// not repeated. Only Say outputs are returned.
func (e *Engine) Opening(ctx context.Context, in Input) []Output {
	if ctx.Err() != nil {
		return nil
	}
	in.Text, in.Payload, in.Greeted, in.Debug = "", "", false, false
	t := e.begin(ctx, State{}, in, nil)
	t.restart()
	says := t.out[:0]
	for _, o := range t.out {
		if o.Kind == Say {
			says = append(says, o)
		}
	}
	t.out = says
	_, out, _ := t.finish()
	return out
}

// startCommand reports whether text asks to start (over): "/start" and its
// deep-link form "/start ref123", as chat apps send them.
func startCommand(text string) bool {
	s := strings.TrimSpace(text)
	cmd, _, _ := strings.Cut(s, " ")
	cmd, _, _ = strings.Cut(cmd, "@") // "/start@shop_bot" in group chats
	return strings.EqualFold(cmd, "/start")
}

// firstTurn is the state of a turn that answers a conversation's first
// message: where the greeting's outputs end, and the state after it, to go
// back to if the answer leads to the greeting again without saying
// anything first ("привет").
type firstTurn struct {
	active   bool
	greetEnd int
	st       State
	vars     map[string]any
}

// start runs the start node of a new conversation and then lets the
// customer's message answer its first wait.
func (t *turn) start(n *node) {
	mark := len(t.out)
	t.run(n)
	if !t.st.Waiting || t.st.InHandoff || t.st.Ended {
		return
	}
	if t.env.Text == "" && t.env.Payload == "" {
		return // Opening, or a turn with nothing to answer
	}
	if t.env.Payload == "" && startCommand(t.env.Text) {
		return
	}
	if t.greeted {
		// The channel showed the greeting already: keep its events and
		// effects, drop its messages.
		kept := t.out[:mark]
		for _, o := range t.out[mark:] {
			if o.Kind != Say {
				kept = append(kept, o)
			}
		}
		t.out = kept
		if t.env.Payload == "" {
			// The customer saw the greeting's buttons: "2" or a typed label
			// answers them as on any later message.
			t.env.Payload = buttonPayload(t.st.Buttons, t.env.Text)
		}
	} else if t.env.Payload != "" {
		return // a button of a conversation the customer cannot see begin
	}
	cur := t.current()
	if cur == nil || cur.kind == kAsk && !t.greeted {
		// A question asked in this very turn: the message was written
		// before the customer saw it, so it is no answer to it.
		return
	}
	// Greeted, a greeting is answered with the greeting (the customer has
	// not seen it in this turn); otherwise it was just said.
	t.first = firstTurn{active: !t.greeted, greetEnd: len(t.out), st: t.st}
	if len(t.env.Vars) > 0 {
		t.first.vars = maps.Clone(t.env.Vars)
	}
	t.answer(cur)
	t.first.active = false
}

// silent reports whether the answer to the first message has said
// nothing yet: going back to the start node then only greets again.
func (f *firstTurn) silent(out []Output) bool {
	for _, o := range out[f.greetEnd:] {
		if o.Kind == Say {
			return false
		}
	}
	return true
}

// backToGreeting undoes an answer to the first message that went back to
// the start node: the customer greeted, and the greeting already answers.
func (t *turn) backToGreeting() {
	t.out = t.out[:t.first.greetEnd]
	t.st = t.first.st
	t.env.Vars, t.varsOwned = t.first.vars, false
	t.env.Fallbacks, t.env.Retries = 0, 0
	t.first.active = false
}
