package syntax

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Style is how a scalar was written; it decides how a column inside the
// value maps back onto the file.
type Style uint8

// Scalar styles.
const (
	Plain  Style = iota // value starts at Pos
	Quoted              // Pos is the opening quote
	Block               // literal or folded block: content starts on the next line
)

// Str is a scalar with its position.
type Str struct {
	Value string
	Pos   Pos
	Style Style
	// Indent is the 1-based column of a block scalar's content.
	Indent int
}

// At maps a position inside Value (0-based line and rune column) onto the
// file. For block scalars each value line is a file line; for flow
// scalars the first line starts at Pos and continuation lines are folded by
// YAML, so they are placed at the value's own line offset (best effort).
func (s *Str) At(line, col int) Pos {
	p := s.Pos
	switch s.Style {
	case Block:
		p.Line += 1 + line
		p.Col = s.Indent + col
	case Quoted:
		p.Line += line
		if line == 0 {
			p.Col += 1 + col
		} else {
			p.Col = 1 + col
		}
	default:
		p.Line += line
		if line == 0 {
			p.Col += col
		} else {
			p.Col = 1 + col
		}
	}
	return p
}

// Kind of a Value.
type Kind uint8

// Value kinds.
const (
	NullKind Kind = iota
	ScalarKind
	MapKind
	SeqKind
)

func (k Kind) String() string {
	return [...]string{"null", "scalar", "mapping", "sequence"}[k]
}

// Value is a YAML document node with positions: what the schema decoders
// work on.
type Value struct {
	Kind Kind
	Pos  Pos
	// Scalar holds the text of a scalar; Type is "str", "int", "float" or "bool".
	Scalar Str
	Type   string
	Map    []Field
	Seq    []*Value
}

// Field is one key of a mapping.
type Field struct {
	Key Str
	Val *Value
}

// Any converts v to plain Go values as encoding/json would produce them
// (float64 numbers, map[string]any, []any).
func (v *Value) Any() any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ScalarKind:
		switch v.Type {
		case "int", "float":
			if f, err := strconv.ParseFloat(strings.ReplaceAll(v.Scalar.Value, "_", ""), 64); err == nil {
				return f
			}
		case "bool":
			return v.Scalar.Value == "true"
		}
		return v.Scalar.Value
	case MapKind:
		m := make(map[string]any, len(v.Map))
		for _, f := range v.Map {
			m[f.Key.Value] = f.Val.Any()
		}
		return m
	case SeqKind:
		s := make([]any, len(v.Seq))
		for i, x := range v.Seq {
			s[i] = x.Any()
		}
		return s
	}
	return nil
}

// maxDepth bounds nesting so a hostile file cannot exhaust the stack.
const maxDepth = 64

// maxExpanded bounds the nodes aliases may add to a document, so a file of
// aliases of aliases (a "billion laughs") cannot make decoding explode.
const maxExpanded = 100_000

// ParseValue parses one YAML document into a Value. Syntax errors, tags,
// duplicate keys and multi-document files are reported into r; the
// returned Value is nil when the file could not be parsed at all.
//
// Anchors, aliases and merge keys work as in YAML 1.1, so a set of buttons
// or a node's common fields are written once per file (`buttons: *menu`,
// `<<: *asking`): an alias is the anchored value itself, positions and
// all, and a key written next to a merge wins over a merged one.
func ParseValue(r *Reporter, file string, src []byte) *Value {
	// Editors on Windows start files with a byte-order mark.
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	r.AddSource(file, src)
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		pos := Pos{File: file, Line: 1, Col: 1}
		msg := err.Error()
		if ye, ok := err.(interface {
			GetToken() *token.Token
			GetMessage() string
		}); ok {
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				pos.Line, pos.Col = max(tk.Position.Line, 1), max(tk.Position.Column, 1)
			}
			msg = ye.GetMessage()
		}
		r.Errorf(pos, "", "yaml: %s", msg)
		r.markUnparsed(file)
		return nil
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return &Value{Kind: NullKind, Pos: Pos{File: file, Line: 1, Col: 1}}
	}
	if len(docs) > 1 {
		r.Errorf(pos(file, docs[1].Body.GetToken()), "", "a file holds one YAML document, found %d", len(docs))
	}
	c := conv{r: r, file: file, anchors: map[string]*Value{}}
	return c.value(docs[0].Body, "", 0)
}

type conv struct {
	r    *Reporter
	file string
	// anchors are the values anchored so far, by name; expanded counts the
	// nodes their aliases added.
	anchors  map[string]*Value
	expanded int
	tooBig   bool
}

// alias is the value an alias names.
func (c *conv) alias(n *ast.AliasNode, p Pos, path string) *Value {
	name := ""
	if n.Value != nil {
		name = n.Value.GetToken().Value
	}
	v, ok := c.anchors[name]
	if !ok {
		c.r.Errorf(p, path, "unknown anchor *%s: an alias must follow its &%s", name, name)
		return &Value{Kind: NullKind, Pos: p}
	}
	c.expanded += size(v)
	if c.expanded > maxExpanded {
		if !c.tooBig {
			c.r.Errorf(p, path, "aliases expand to more than %d values", maxExpanded)
		}
		c.tooBig = true
		return &Value{Kind: NullKind, Pos: p}
	}
	return v
}

// size is the number of nodes in v.
func size(v *Value) int {
	n := 1
	for _, f := range v.Map {
		n += size(f.Val)
	}
	for _, x := range v.Seq {
		n += size(x)
	}
	return n
}

func pos(file string, tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: file, Line: 1, Col: 1}
	}
	return Pos{File: file, Line: max(tk.Position.Line, 1), Col: max(tk.Position.Column, 1)}
}

func (c *conv) value(n ast.Node, path string, depth int) *Value {
	if depth > maxDepth {
		c.r.Errorf(pos(c.file, n.GetToken()), path, "nesting deeper than %d levels", maxDepth)
		return &Value{Kind: NullKind, Pos: pos(c.file, n.GetToken())}
	}
	p := pos(c.file, n.GetToken())
	switch n := n.(type) {
	case *ast.NullNode:
		return &Value{Kind: NullKind, Pos: p}
	case *ast.StringNode:
		st := Plain
		if n.Token != nil && (n.Token.Type == token.DoubleQuoteType || n.Token.Type == token.SingleQuoteType) {
			st = Quoted
		}
		return &Value{Kind: ScalarKind, Pos: p, Type: "str", Scalar: Str{Value: n.Value, Pos: p, Style: st}}
	case *ast.IntegerNode:
		return c.scalar(p, n.Token, "int")
	case *ast.FloatNode:
		return c.scalar(p, n.Token, "float")
	case *ast.InfinityNode:
		return c.scalar(p, n.Token, "float")
	case *ast.NanNode:
		return c.scalar(p, n.Token, "float")
	case *ast.BoolNode:
		v := c.scalar(p, n.Token, "bool")
		v.Scalar.Value = strconv.FormatBool(n.Value)
		return v
	case *ast.LiteralNode:
		s := Str{Pos: p, Style: Block}
		if n.Value != nil {
			s.Value = n.Value.Value
			s.Indent = blockIndent(n.Value.GetToken())
		}
		return &Value{Kind: ScalarKind, Pos: p, Type: "str", Scalar: s}
	case *ast.MappingValueNode:
		return c.mapping(p, []*ast.MappingValueNode{n}, path, depth)
	case *ast.MappingNode:
		return c.mapping(p, n.Values, path, depth)
	case *ast.SequenceNode:
		v := &Value{Kind: SeqKind, Pos: p}
		for i, x := range n.Values {
			v.Seq = append(v.Seq, c.value(x, path+"["+strconv.Itoa(i)+"]", depth+1))
		}
		return v
	case *ast.AnchorNode:
		v := &Value{Kind: NullKind, Pos: p}
		if n.Value != nil {
			v = c.value(n.Value, path, depth+1)
		}
		if n.Name != nil {
			c.anchors[n.Name.GetToken().Value] = v
		}
		return v
	case *ast.AliasNode:
		return c.alias(n, p, path)
	case *ast.TagNode:
		c.r.Errorf(p, path, "YAML tags are not supported")
	case *ast.MergeKeyNode:
		c.r.Errorf(p, path, "a merge key (<<) is a mapping key: write `<<: *name`")
	default:
		c.r.Errorf(p, path, "unsupported YAML construct %s", n.Type())
	}
	return &Value{Kind: NullKind, Pos: p}
}

func (c *conv) scalar(p Pos, tk *token.Token, typ string) *Value {
	s := ""
	if tk != nil {
		s = tk.Value
	}
	return &Value{Kind: ScalarKind, Pos: p, Type: typ, Scalar: Str{Value: s, Pos: p}}
}

func (c *conv) mapping(p Pos, mvs []*ast.MappingValueNode, path string, depth int) *Value {
	v := &Value{Kind: MapKind, Pos: p}
	seen := map[string]Pos{}
	var merged []Field
	for _, mv := range mvs {
		if mv == nil || mv.Key == nil {
			continue
		}
		kp := pos(c.file, mv.Key.GetToken())
		var key string
		switch k := mv.Key.(type) {
		case *ast.StringNode:
			key = k.Value
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
			key = k.GetToken().Value
		case *ast.MergeKeyNode:
			merged = append(merged, c.merge(mv.Value, kp, path, depth)...)
			continue
		default:
			c.r.Errorf(kp, path, "a mapping key must be a plain string")
			continue
		}
		sub := join(path, key)
		if first, dup := seen[key]; dup {
			c.r.Errorf(kp, sub, "duplicate key %q (first at line %d)", key, first.Line)
			continue
		}
		seen[key] = kp
		var val *Value
		if mv.Value == nil {
			val = &Value{Kind: NullKind, Pos: kp}
		} else {
			val = c.value(mv.Value, sub, depth+1)
		}
		v.Map = append(v.Map, Field{Key: Str{Value: key, Pos: kp}, Val: val})
	}
	// Merged keys come after the mapping's own, which win; of two merged
	// mappings the first wins, as YAML says.
	for _, f := range merged {
		if _, ok := seen[f.Key.Value]; !ok {
			seen[f.Key.Value] = f.Key.Pos
			v.Map = append(v.Map, f)
		}
	}
	// A block mapping's token is its first ':'; point at its first key,
	// where a reader looks.
	if len(v.Map) > 0 && len(mvs) > 0 && !mvs[0].IsFlowStyle {
		v.Pos = v.Map[0].Key.Pos
	}
	return v
}

// merge is the fields a merge key's value brings: an alias of a mapping,
// or a list of them.
func (c *conv) merge(n ast.Node, kp Pos, path string, depth int) []Field {
	if n == nil {
		c.r.Errorf(kp, path, "a merge key (<<) needs a mapping: write `<<: *name`")
		return nil
	}
	v := c.value(n, path, depth+1)
	list := []*Value{v}
	if v.Kind == SeqKind {
		list = v.Seq
	}
	var out []Field
	for _, x := range list {
		if x.Kind != MapKind {
			c.r.Errorf(x.Pos, path, "a merge key (<<) needs a mapping, found a %s", x.Kind)
			continue
		}
		out = append(out, x.Map...)
	}
	return out
}

// blockIndent is the column of the first content character of a block
// scalar, from the raw text of its content token.
func blockIndent(tk *token.Token) int {
	if tk == nil {
		return 1
	}
	for _, line := range strings.Split(tk.Origin, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		return len(line) - len(strings.TrimLeft(line, " ")) + 1
	}
	return 1
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
