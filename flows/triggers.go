package flows

import (
	"cmp"
	"slices"
	"strings"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// Default escalation policy; a project overrides each line in its
// `escalation:` section, and "off" disables one.
const (
	defaultRequested     = "human_requested"
	defaultNegative      = "negative"
	defaultNotUnderstood = "fallbacks >= 3"
	// Built-in escalation triggers rank below a project's own triggers of
	// priority > 50 (e.g. "/start"), above the ordinary ones.
	requestedPriority = 50
	negativePriority  = 40
)

// Handoff reasons the engine produces by itself.
const (
	ReasonNegative      = "negative"
	ReasonNotUnderstood = "not_understood"
	ReasonRequested     = "requested"
)

func (c *compiler) triggers(pf *syntax.Project) {
	p := c.p
	ids := map[string]syntax.Pos{}
	for i, st := range pf.Triggers {
		t := &trigger{priority: st.Priority, duringHandoff: st.DuringHandoff, order: i}
		if st.ID != nil {
			t.id = st.ID.Value
			if prev, dup := ids[t.id]; dup {
				c.errorf(st.ID.Pos, st.Path+".id", "duplicate trigger id %q (first at line %d)", t.id, prev.Line)
			}
			ids[t.id] = st.ID.Pos
		}
		t.cond = c.ec.Cond(st.If, st.Path+".if")
		t.target = c.resolve(nil, st.Goto, st.Path+".goto", true)
		if st.Say != nil {
			t.say = c.text(st.Say)
		}
		if st.Handoff != nil {
			t.handoff = c.handoff(st.Handoff)
		}
		p.triggers = append(p.triggers, t)
	}
	esc := pf.Escalation
	if esc == nil {
		esc = &syntax.Escalation{Path: "escalation"}
	}
	prio := "high"
	if esc.Priority != nil {
		prio = esc.Priority.Value
		if !slices.Contains(priorities, prio) {
			c.errorf(esc.Priority.Pos, "escalation.priority", "unknown priority %q", prio)
		}
	}
	p.escalation.priority = prio
	builtin := func(s *syntax.Str, def, key, reason string, priority int) {
		cond := c.policy(s, def, "escalation."+key)
		if cond == nil {
			return
		}
		p.triggers = append(p.triggers, &trigger{id: "escalate_" + key, cond: cond, reason: reason,
			priority: priority, order: len(p.triggers)})
	}
	builtin(esc.Requested, defaultRequested, "requested", ReasonRequested, requestedPriority)
	builtin(esc.Negative, defaultNegative, "negative", ReasonNegative, negativePriority)
	p.escalation.notUnderstood = c.policy(esc.NotUnderstood, defaultNotUnderstood, "escalation.not_understood")
	slices.SortStableFunc(p.triggers, func(a, b *trigger) int {
		return cmp.Or(cmp.Compare(b.priority, a.priority), cmp.Compare(a.order, b.order))
	})
}

// policy compiles one escalation condition, the default when s is nil.
func (c *compiler) policy(s *syntax.Str, def, path string) *eval.Program {
	if s == nil {
		s = &syntax.Str{Value: def, Pos: syntax.Pos{File: ProjectFile, Line: 1, Col: 1}}
	}
	if s.Value == "off" {
		return nil
	}
	return c.ec.Cond(s, path)
}

// reachability reports nodes and flows nothing can reach: they are dead
// text a support lead believes is live.
func (c *compiler) reachability() {
	p := c.p
	seenFlow := map[*flow]bool{}
	seen := map[*node]bool{}
	var stack []*node
	push := func(n *node) {
		if n != nil && !seen[n] {
			seen[n] = true
			seenFlow[n.flow] = true
			stack = append(stack, n)
		}
	}
	if f := p.flows[p.StartFlow]; f != nil {
		push(f.start)
	}
	push(p.safe)
	for _, t := range p.triggers {
		push(t.target)
	}
	// A flow that declares params is started by the outbound API.
	for name, sf := range c.files {
		if f := p.flows[name]; f != nil && sf.Triggered {
			push(f.start)
		}
	}
	for {
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			push(n.next)
			push(n.onFail)
			push(n.onTimeout)
			push(n.els)
			push(n.target)
			push(n.onError)
			for _, bc := range n.cases {
				push(bc.target)
			}
			if n.call != nil {
				push(n.call.start)
			}
		}
		// A used flow's safe node is an entry point too (sessions migrate
		// to it); it may lead to more nodes.
		for f := range seenFlow {
			push(f.safe)
		}
		if len(stack) == 0 {
			break
		}
	}
	for _, name := range p.flowNames {
		f := p.flows[name]
		sf := c.files[name]
		if !seenFlow[f] {
			if f.start != nil {
				c.errorf(c.flowPos[name], "flow", "flow %q is never used: not the start flow, never called, no goto or trigger leads to it (a flow the outbound API starts declares params:, params: [] for none)", name)
			}
			continue
		}
		for _, sn := range sf.Nodes {
			if n := f.nodes[sn.ID.Value]; n != nil && !seen[n] {
				c.errorf(sn.ID.Pos, sn.Path, "node %q is unreachable: nothing goes to it", n.id)
			}
		}
	}
}

// loops reports cycles that no wait, branch or http node breaks: such a
// conversation would spin until the step limit on every message.
func (c *compiler) loops() {
	reported := map[*node]bool{}
	for _, name := range c.p.flowNames {
		for _, start := range c.p.flows[name].order {
			seen := map[*node]int{}
			var path []*node
			for n := start; n != nil; n = straight(n) {
				if i, ok := seen[n]; ok {
					cycle := path[i:]
					if !reported[cycle[0]] {
						ids := make([]string, 0, len(cycle)+1)
						for _, x := range cycle {
							reported[x] = true
							ids = append(ids, x.ref())
						}
						ids = append(ids, cycle[0].ref())
						sn := c.files[cycle[0].flow.name]
						for _, s := range sn.Nodes {
							if s.ID.Value == cycle[0].id {
								c.errorf(s.ID.Pos, s.Path, "endless loop without a wait: %s", strings.Join(ids, " -> "))
							}
						}
					}
					break
				}
				seen[n] = len(path)
				path = append(path, n)
			}
		}
	}
}

// straight is the only node that can follow n when nothing can stop the
// run there (say, set, link, goto, call); nil otherwise.
func straight(n *node) *node {
	switch n.kind {
	case kSay, kSet, kLink:
		return n.next
	case kGoto:
		return n.target
	case kCall:
		if n.call != nil {
			return n.call.start
		}
	}
	return nil
}
