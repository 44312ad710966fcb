package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parley-chat/parley/flows"
)

// graphFormats are what `parley graph --format` writes. svg is laid out
// by graph_svg.go; Graphviz (dot) lays out bigger flows better.
var graphFormats = []string{"mermaid", "dot", "svg", "json"}

const graphUsage = "usage: parley graph DIR [--flow FLOW] [--format mermaid|dot|svg|json]"

// runGraph prints a project's flows as a picture's source, from the same
// flows.Project.Graph the lead dashboard draws (handoff's /api/flows):
//
//	parley graph DIR [--flow FLOW] [--format mermaid|dot|svg|json]
func runGraph(args []string, stdio IO) int {
	fs := newFlagSet("parley graph", stdio)
	only := fs.String("flow", "", "draw only this flow (default: every flow)")
	format := fs.String("format", "mermaid", "mermaid, dot (Graphviz), svg (a picture, laid out by parley) or json (as the console's /api/flows)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stdio.Stderr, graphUsage)
		return 2
	}
	if !slices.Contains(graphFormats, *format) {
		fmt.Fprintf(stdio.Stderr, "parley graph: --format %q: want mermaid, dot, svg or json\n", *format)
		return 2
	}
	p, err := loadProject(pos[0])
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley graph: %v\n", err)
		return 1
	}
	graphs, err := projectGraphs(p, *only)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley graph: %v\n", err)
		return 1
	}
	switch *format {
	case "dot":
		writeDot(stdio.Stdout, graphs)
	case "svg":
		writeSVG(stdio.Stdout, graphs)
	case "json":
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"flows": graphs})
	default:
		writeMermaid(stdio.Stdout, graphs)
	}
	return 0
}

// projectGraphs is the graph of every flow, or of the one named.
func projectGraphs(p *flows.Project, only string) ([]flows.FlowGraph, error) {
	names := p.Flows()
	if only != "" {
		if !slices.Contains(names, only) {
			return nil, fmt.Errorf("--flow %q: no such flow (flows: %s)", only, strings.Join(names, ", "))
		}
		names = []string{only}
	}
	out := make([]flows.FlowGraph, 0, len(names))
	for _, n := range names {
		if g, ok := p.Graph(n); ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// qualified names a node of flow f for a picture of several flows: edges
// to other flows are written "flow.node" already.
func qualified(f, id string) string {
	if strings.Contains(id, ".") {
		return id
	}
	return f + "." + id
}

// mermaidID is a Mermaid node id: letters, digits and _ only, so
// "order.ask" becomes "order__ask".
func mermaidID(ref string) string {
	return strings.ReplaceAll(ref, ".", "__")
}

// mermaidText quotes a label for Mermaid: inside "..." only the double
// quote needs escaping, as an entity.
func mermaidText(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"`
}

// writeMermaid draws each flow as a subgraph; a flow's start node is bold,
// nodes of other flows that edges reach appear in their own flow's box
// (or on their own when that flow is not drawn).
func writeMermaid(w io.Writer, graphs []flows.FlowGraph) {
	fmt.Fprintln(w, "flowchart TD")
	for _, g := range graphs {
		fmt.Fprintf(w, "  subgraph %s[%s]\n", mermaidID(g.Flow), mermaidText(g.Flow))
		for _, n := range g.Nodes {
			id := mermaidID(qualified(g.Flow, n.ID))
			fmt.Fprintf(w, "    %s[%s]\n", id, mermaidText(n.ID+" ("+n.Kind+")<br/>"+n.Label))
		}
		fmt.Fprintln(w, "  end")
	}
	for _, g := range graphs {
		for _, e := range g.Edges {
			fmt.Fprintf(w, "  %s -->|%s| %s\n", mermaidID(qualified(g.Flow, e.From)),
				mermaidText(e.Label), mermaidID(qualified(g.Flow, e.To)))
		}
		if g.Start != "" {
			fmt.Fprintf(w, "  style %s stroke-width:3px\n", mermaidID(qualified(g.Flow, g.Start)))
		}
	}
}

// dotText quotes a Graphviz string.
func dotText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// writeDot draws each flow as a cluster, the start node bold.
func writeDot(w io.Writer, graphs []flows.FlowGraph) {
	fmt.Fprintln(w, "digraph parley {")
	fmt.Fprintln(w, "  rankdir=TB;")
	fmt.Fprintln(w, "  node [shape=box, fontname=\"sans-serif\"];")
	for _, g := range graphs {
		fmt.Fprintf(w, "  subgraph %s {\n", dotText("cluster_"+g.Flow))
		fmt.Fprintf(w, "    label=%s;\n", dotText(g.Flow))
		for _, n := range g.Nodes {
			style := ""
			if n.ID == g.Start {
				style = ", style=bold"
			}
			fmt.Fprintf(w, "    %s [label=%s%s];\n", dotText(qualified(g.Flow, n.ID)), dotText(n.ID+" ("+n.Kind+")\n"+n.Label), style)
		}
		fmt.Fprintln(w, "  }")
	}
	for _, g := range graphs {
		for _, e := range g.Edges {
			fmt.Fprintf(w, "  %s -> %s [label=%s];\n", dotText(qualified(g.Flow, e.From)), dotText(qualified(g.Flow, e.To)), dotText(e.Label))
		}
	}
	fmt.Fprintln(w, "}")
}
