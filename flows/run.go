package flows

import (
	"fmt"
	"slices"
)

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
		if v == "" && t.env.Attachment.Ref != "" {
			v = t.env.Attachment.Ref // the answer is a photo or a file
		}
		t.setVar(n.save, v)
	}
	t.assign(n, n.set)
	t.tookAnswer = n.validate != nil || n.save != ""
	if n.record != nil {
		t.emitRecord(n)
	}
	if len(n.cases) > 0 {
		for _, bc := range n.cases {
			ok, err := t.cond(bc.cond)
			if err != nil {
				t.errorEvent(n, "branch", err)
				continue
			}
			if ok {
				t.took(n, bc.cond, bc.target)
				t.understood()
				t.run(bc.target)
				return
			}
		}
		if n.next == nil {
			// An answer that passed validation was understood even if no
			// branch took it; without validation it was not.
			if n.validate != nil && n.els != nil {
				t.took(n, nil, n.els)
				t.understood()
				t.run(n.els)
				return
			}
			if t.misunderstood(n, true) {
				return
			}
			if n.els != nil {
				t.took(n, nil, n.els)
				t.st.Waiting = false
				t.run(n.els)
			}
			return
		}
	}
	t.understood()
	// Without next the node ends its flow, as any other node does: the
	// caller goes on, or the conversation ends.
	t.run(t.next(n))
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
	if len(buttons.items) == 0 && len(keep) > 0 && len(t.out) > 0 && t.out[len(t.out)-1].Kind == Say {
		t.out[len(t.out)-1].Buttons = keep
		t.st.Buttons = keep
	}
	t.st.Waiting = true
	if n.timeout > 0 {
		// The question was asked again: its timer starts again.
		t.st.Deadline = t.now.Add(n.timeout).Unix()
	}
	return true
}

// run executes nodes from n until one waits, hands off or ends.
func (t *turn) run(n *node) {
	for n != nil {
		if t.first.active && n == t.e.p.flows[t.e.p.StartFlow].start && t.first.silent(t.out) {
			t.backToGreeting()
			return
		}
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
			if n.record != nil {
				t.emitRecord(n)
			}
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
			if n.record != nil {
				t.emitRecord(n)
			}
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
		case kLink:
			t.offerLink(n)
			n = t.next(n)
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
			t.took(n, bc.cond, bc.target)
			return bc.target
		}
	}
	if n.els != nil {
		t.took(n, nil, n.els)
	}
	return n.els
}
