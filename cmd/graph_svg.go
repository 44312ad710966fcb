package cmd

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/flows"
)

// The svg picture is laid out here, in a few lines, rather than by
// Graphviz: flows are small (tens of nodes) and mostly run top to bottom,
// so nodes go in rows by their distance from the flow's start, in file
// order within a row. Edges that go down are straight lines; edges that
// go back up or along a row bend out to the right. A node of another
// flow that an edge reaches is drawn dashed in the row below. For a
// picture with fewer crossings, use --format dot with Graphviz.
const (
	svgBoxW   = 250 // node box width
	svgBoxH   = 46
	svgGapX   = 40
	svgGapY   = 56
	svgMargin = 24
	svgTitleH = 34
	svgCharW  = 7 // approximate width of a character at font-size 12
)

type svgNode struct {
	ref, title, label string
	external, start   bool
	row, col          int
	x, y              int // top left
}

// layoutFlow places g's nodes in rows; the returned nodes are keyed by the
// references edges use ("id" or "flow.node").
func layoutFlow(g flows.FlowGraph) (map[string]*svgNode, []*svgNode, int, int) {
	byRef := map[string]*svgNode{}
	var order []*svgNode
	for _, n := range g.Nodes {
		label := n.Label
		if label == n.Kind {
			label = "" // a node that says nothing: the kind is in the title
		}
		sn := &svgNode{ref: n.ID, title: n.ID + " (" + n.Kind + ")", label: label, start: n.ID == g.Start, row: -1}
		byRef[n.ID] = sn
		order = append(order, sn)
	}
	out := map[string][]string{}
	for _, e := range g.Edges {
		out[e.From] = append(out[e.From], e.To)
	}
	// Rows: breadth-first distance from the start; nodes it does not
	// reach (trigger targets, say) start new searches in file order.
	queue := []*svgNode{}
	visit := func(n *svgNode, row int) {
		if n.row < 0 {
			n.row = row
			queue = append(queue, n)
		}
	}
	if s := byRef[g.Start]; s != nil {
		visit(s, 0)
	}
	maxRow := 0
	for i := 0; ; {
		for ; i < len(queue); i++ {
			n := queue[i]
			maxRow = max(maxRow, n.row)
			for _, to := range out[n.ref] {
				t := byRef[to]
				if t == nil { // a node of another flow, drawn once below its first caller
					t = &svgNode{ref: to, title: "→ " + to, label: "another flow", external: true, row: -1}
					byRef[to] = t
					order = append(order, t)
				}
				visit(t, n.row+1)
			}
		}
		var next *svgNode
		for _, n := range order {
			if n.row < 0 {
				next = n
				break
			}
		}
		if next == nil {
			break
		}
		visit(next, maxRow+1)
	}
	placeColumns(order, out, byRef, maxRow)
	width, height := 0, 0
	for _, n := range order {
		n.x = svgMargin + n.col*(svgBoxW+svgGapX)
		n.y = svgTitleH + n.row*(svgBoxH+svgGapY)
		width = max(width, n.x+svgBoxW+svgMargin+svgGapX) // room for edges bending right
		height = max(height, n.y+svgBoxH+svgMargin)
	}
	return byRef, order, width, height
}

// placeColumns orders each row under the nodes that lead to it (the mean
// column of a node's callers in rows above, file order on ties), which
// uncrosses most edges of a flow that branches and joins.
func placeColumns(order []*svgNode, out map[string][]string, byRef map[string]*svgNode, maxRow int) {
	rows := make([][]*svgNode, maxRow+2)
	for _, n := range order {
		if n.row >= len(rows) {
			rows = append(rows, make([][]*svgNode, n.row-len(rows)+1)...)
		}
		rows[n.row] = append(rows[n.row], n)
	}
	callers := map[*svgNode][]*svgNode{}
	for _, n := range order {
		for _, to := range out[n.ref] {
			if t := byRef[to]; t != nil && t.row > n.row {
				callers[t] = append(callers[t], n)
			}
		}
	}
	for _, row := range rows {
		key := make(map[*svgNode]float64, len(row))
		for i, n := range row {
			key[n] = float64(len(order) + i) // no caller above: after the others
			if cs := callers[n]; len(cs) > 0 {
				sum := 0
				for _, c := range cs {
					sum += c.col
				}
				key[n] = float64(sum) / float64(len(cs))
			}
		}
		slices.SortStableFunc(row, func(a, b *svgNode) int { return cmp.Compare(key[a], key[b]) })
		last := -1
		for _, n := range row {
			// Under its callers when there is room, else next to the left one.
			n.col = last + 1
			if len(callers[n]) > 0 {
				n.col = max(n.col, int(math.Round(key[n])))
			}
			last = n.col
		}
	}
}

// writeSVG draws each flow as a panel, one under the other.
func writeSVG(w io.Writer, graphs []flows.FlowGraph) {
	type panel struct {
		g             flows.FlowGraph
		byRef         map[string]*svgNode
		order         []*svgNode
		width, height int
	}
	var panels []panel
	width, height := 0, 0
	for _, g := range graphs {
		byRef, order, pw, ph := layoutFlow(g)
		panels = append(panels, panel{g, byRef, order, pw, ph})
		width = max(width, pw)
		height += ph
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintln(w, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`)
	top := 0
	for _, p := range panels {
		fmt.Fprintf(w, `<g class="flow" id="%s" transform="translate(0 %d)">`+"\n", svgEsc("flow-"+p.g.Flow), top)
		fmt.Fprintf(w, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", svgMargin, svgEsc(p.g.Flow))
		pairs := map[[2]string]int{} // edges between the same nodes so far
		for _, e := range p.g.Edges {
			from, to := p.byRef[e.From], p.byRef[e.To]
			if from == nil || to == nil {
				continue
			}
			k := [2]string{e.From, e.To}
			writeSVGEdge(w, from, to, e.Label, pairs[k])
			pairs[k]++
		}
		for _, n := range p.order {
			writeSVGNode(w, n)
		}
		fmt.Fprintln(w, "</g>")
		top += p.height
	}
	fmt.Fprintln(w, "</svg>")
}

func writeSVGNode(w io.Writer, n *svgNode) {
	style := `fill="#fff" stroke="#333"`
	switch {
	case n.external:
		style = `fill="#f4f4f4" stroke="#777" stroke-dasharray="4 3"`
	case n.start:
		style = `fill="#eef5ff" stroke="#1a56c4" stroke-width="2.5"`
	}
	fmt.Fprintf(w, `<g class="node"><rect x="%d" y="%d" width="%d" height="%d" rx="6" %s/>`, n.x, n.y, svgBoxW, svgBoxH, style)
	if n.label == "" {
		fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text></g>`+"\n", n.x+8, n.y+svgBoxH/2+4, svgEsc(fitText(n.title, svgBoxW-16)))
		return
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" font-weight="bold">%s</text>`, n.x+8, n.y+18, svgEsc(fitText(n.title, svgBoxW-16)))
	fmt.Fprintf(w, `<text x="%d" y="%d" fill="#444">%s</text></g>`+"\n", n.x+8, n.y+36, svgEsc(fitText(n.label, svgBoxW-16)))
}

// writeSVGEdge draws a line down to a lower row, or a curve out to the
// right for an edge back up or along a row, with its label.
// The nth edge between the same two nodes has its label n lines lower.
func writeSVGEdge(w io.Writer, from, to *svgNode, label string, nth int) {
	var d string
	var lx, ly int
	if to.row > from.row {
		x1, y1 := from.x+svgBoxW/2, from.y+svgBoxH
		x2, y2 := to.x+svgBoxW/2, to.y
		d = fmt.Sprintf("M %d %d L %d %d", x1, y1, x2, y2)
		// Near the target: a branch's many ways out (long conditions) are
		// apart there; ways in are mostly a short "next".
		lx, ly = x1+(x2-x1)*7/10+4, y1+(y2-y1)*7/10
	} else {
		x1, y1 := from.x+svgBoxW, from.y+svgBoxH/2
		x2, y2 := to.x+svgBoxW, to.y+svgBoxH/2
		bend := max(x1, x2) + svgGapX
		if from == to {
			y2 = y1 + 10
		}
		d = fmt.Sprintf("M %d %d C %d %d, %d %d, %d %d", x1, y1, bend, y1, bend, y2, x2, y2)
		lx, ly = bend-svgGapX/2, (y1+y2)/2
	}
	ly += 12 * nth
	fmt.Fprintf(w, `<g class="edge"><path d="%s" fill="none" stroke="#555" marker-end="url(#arrow)"/>`, d)
	fmt.Fprintf(w, `<text x="%d" y="%d" font-size="10" fill="#1a56c4">%s</text></g>`+"\n", lx, ly, svgEsc(fitText(label, svgBoxW)))
}

// fitText cuts s to what fits in width pixels, with "…" when cut.
func fitText(s string, width int) string {
	maxRunes := width / svgCharW
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	return string([]rune(s)[:maxRunes-1]) + "…"
}

func svgEsc(s string) string {
	return html.EscapeString(strings.ToValidUTF8(s, "�"))
}
