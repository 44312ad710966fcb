package flows

import (
	"fmt"
	"slices"
)

// migrate moves a session recorded under another project version onto
// this one: it stays at the same node id when the node still exists, and
// goes to the safe node (with an event) when it is gone.
func (t *turn) migrate() {
	p := t.e.p
	if t.st.Version == "" || t.st.Version == p.Version {
		return
	}
	from := t.st.Version
	t.st.Version = p.Version
	if t.st.Flow == "" {
		return
	}
	// Return points and the resume point must exist too.
	var stack []Frame
	for _, fr := range t.st.Stack {
		if f := p.flows[fr.Flow]; f != nil && (fr.Node == "" || f.nodes[fr.Node] != nil) {
			stack = append(stack, fr)
		}
	}
	t.st.Stack = slices.Clip(stack)
	if t.st.Resume != "" && p.lookup(t.st.Resume) == nil {
		t.st.Resume = p.SafeNode
	}
	if n := t.current(); n != nil {
		if t.st.Waiting && n.kind != kAsk && n.kind != kWait {
			// The node no longer waits: run it afresh on this message.
			t.st.Waiting = false
		}
		t.event("migrated", n, map[string]string{"from": from, "to": p.Version})
		return
	}
	gone := t.st.Flow + "." + t.st.Node
	safe := t.safeFor(t.st.Flow)
	t.event("node_gone", safe, map[string]string{"node": gone, "to": safe.ref(), "from": from})
	t.st.Flow, t.st.Node = safe.flow.name, safe.id
	t.st.Waiting, t.st.Deadline, t.st.Stack = false, 0, nil
	t.env.Retries = 0
	if t.st.InHandoff {
		t.st.Resume = safe.ref()
	}
}

// safeFor is where a session from flow name goes when its node is gone:
// the flow's own safe node if it still has one, else the project's.
func (t *turn) safeFor(name string) *node {
	if f := t.e.p.flows[name]; f != nil && f.safe != nil {
		return f.safe
	}
	return t.e.p.safe
}

// CheckState reports whether a stored session can continue under this
// project version; if not, msg says where it waits and where it would go.
func (p *Project) CheckState(st State) (ok bool, msg string) {
	if st.Flow == "" || st.Ended {
		return true, ""
	}
	var problems []string
	if p.flows[st.Flow] == nil || p.flows[st.Flow].nodes[st.Node] == nil {
		safe := p.safe
		if f := p.flows[st.Flow]; f != nil && f.safe != nil {
			safe = f.safe
		}
		state := "is at"
		if st.Waiting {
			state = "waits at"
		} else if st.InHandoff {
			state = "is with a human, handed off at"
		}
		problems = append(problems, fmt.Sprintf("%s %s.%s, which this version removes; it would go to %s", state, st.Flow, st.Node, safe.ref()))
	}
	for _, fr := range st.Stack {
		if f := p.flows[fr.Flow]; f == nil || (fr.Node != "" && f.nodes[fr.Node] == nil) {
			problems = append(problems, fmt.Sprintf("would return to %s.%s after a sub-flow, which this version removes; that return is dropped", fr.Flow, fr.Node))
		}
	}
	if st.Resume != "" && p.lookup(st.Resume) == nil {
		problems = append(problems, fmt.Sprintf("resumes after the handoff at %s, which this version removes; it would resume at %s", st.Resume, p.SafeNode))
	}
	if len(problems) == 0 {
		return true, ""
	}
	return false, joinProblems(problems)
}

func joinProblems(ps []string) string {
	s := ps[0]
	for _, p := range ps[1:] {
		s += "; " + p
	}
	return s
}
