package analytics

// Graph is the structure of one flow, for drawing it and its Funnel: the
// console lays it out by depth from Start. The flow engine's project is
// adapted to it in cmd (analytics cannot import flows).
type Graph struct {
	Flow  string      `json:"flow"`
	Start string      `json:"start"`
	Nodes []GraphNode `json:"nodes"` // in file order
	Edges []GraphEdge `json:"edges"`
}

// GraphNode is one node: its id, its kind (say, ask, wait, set, branch,
// goto, call, http, handoff, end) and a short label (the node's text or
// target, for a tooltip).
type GraphNode struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
}

// GraphEdge goes from a node to a node of the same flow (To is a node id)
// or of another flow (To is "flow.node"). Label says why it is taken:
// "next", "else", "on_fail", "on_timeout", "on_error", "call", a branch
// condition.
type GraphEdge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label,omitempty"`
}
