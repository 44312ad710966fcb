package flows

import (
	"github.com/parley-chat/parley/flows/syntax"
	"strings"
	"unicode/utf8"
)

// FlowGraph is one flow as nodes and labelled edges, for drawing it (the
// lead dashboard shows where conversations go and drop off). Edges leave
// the flow's own nodes; a target in another flow is written "flow.node".
type FlowGraph struct {
	Flow  string      `json:"flow"`
	Start string      `json:"start"`
	Nodes []GraphNode `json:"nodes"`
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is one node: its id, kind (say, ask, wait, set, branch, goto,
// call, http, handoff, end, link) and a short label for humans.
type GraphNode struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
}

// GraphEdge is one way from a node to another. Label says which:
// "next", "else", "goto", "on_fail", "on_timeout", "on_error", "call",
// "return" (where a call continues), "after handoff", or a branch case's
// condition as written.
type GraphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
}

// Edge labels that are not a branch condition.
const (
	EdgeNext         = "next"
	EdgeElse         = "else"
	EdgeGoto         = "goto"
	EdgeOnFail       = "on_fail"
	EdgeOnTimeout    = "on_timeout"
	EdgeOnError      = "on_error"
	EdgeCall         = "call"
	EdgeReturn       = "return"
	EdgeAfterHandoff = "after handoff"
)

// maxLabelRunes bounds a node's label.
const maxLabelRunes = 40

// Flows lists the project's flows, sorted by name.
func (p *Project) Flows() []string { return p.FlowNames() }

// SuggestFlow is the project's flow name closest to name, when it is a
// likely typo ("" otherwise), for errors that say "did you mean".
func (p *Project) SuggestFlow(name string) string { return syntax.Suggest(name, p.FlowNames()) }

// Graph returns the named flow's nodes (in file order) and edges; false
// for an unknown flow.
func (p *Project) Graph(name string) (FlowGraph, bool) {
	f := p.flows[name]
	if f == nil {
		return FlowGraph{}, false
	}
	g := FlowGraph{Flow: f.name, Nodes: make([]GraphNode, 0, len(f.order)), Edges: []GraphEdge{}}
	if f.start != nil {
		g.Start = f.start.id
	}
	for _, n := range f.order {
		g.Nodes = append(g.Nodes, GraphNode{ID: n.id, Kind: n.kind.String(), Label: p.label(n)})
		g.Edges = appendEdges(g.Edges, n)
	}
	return g, true
}

// appendEdges adds n's ways out: branch cases in order, else, goto, the
// call and its return (or next), then the failure ways.
func appendEdges(edges []GraphEdge, n *node) []GraphEdge {
	add := func(to *node, label string) {
		if to != nil {
			edges = append(edges, GraphEdge{From: n.id, To: refFrom(n.flow, to), Label: label})
		}
	}
	for _, bc := range n.cases {
		label := "if"
		if bc.cond != nil {
			label = bc.cond.Src
		}
		add(bc.target, label)
	}
	add(n.els, EdgeElse)
	add(n.target, EdgeGoto)
	switch {
	case n.kind == kCall && n.call != nil:
		add(n.call.start, EdgeCall)
		add(n.next, EdgeReturn)
	case n.kind == kHandoff:
		add(n.next, EdgeAfterHandoff)
	default:
		add(n.next, EdgeNext)
	}
	add(n.onFail, EdgeOnFail)
	add(n.onTimeout, EdgeOnTimeout)
	add(n.onError, EdgeOnError)
	return edges
}

// refFrom names node n as seen from flow f: its id inside f, else
// "flow.node".
func refFrom(f *flow, n *node) string {
	if n.flow == f {
		return n.id
	}
	return n.ref()
}

// label is the start of what the node says in the default language (holes
// as written), on one line, at most maxLabelRunes runes with "…" when cut;
// a node that says nothing is labelled with its kind.
func (p *Project) label(n *node) string {
	say := n.say
	if n.kind == kLink {
		say = n.linkText
	}
	if say == nil {
		return n.kind.String()
	}
	tm := say.any
	if say.langs != nil {
		tm = say.langs[p.DefaultLang]
	}
	if tm == nil {
		return n.kind.String()
	}
	s := strings.Join(strings.Fields(tm.Src), " ")
	if s == "" {
		return n.kind.String()
	}
	if utf8.RuneCountInString(s) <= maxLabelRunes {
		return s
	}
	// Cut at a word boundary when one is not too far back, and say that
	// the text goes on.
	r := []rune(s)[:maxLabelRunes-1]
	if i := lastSpace(r); i >= maxLabelRunes/2 {
		r = r[:i]
	}
	return strings.TrimRight(string(r), " ,.;:—–-") + "…"
}

func lastSpace(r []rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == ' ' {
			return i
		}
	}
	return -1
}
