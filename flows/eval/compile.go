package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/parley-chat/parley/flows/syntax"
)

// Limits on expression source, checked before expr-lang sees it: a deeply
// nested expression overflows the parser's stack and kills the process.
const (
	MaxExprLen   = 2000 // characters
	MaxNesting   = 32   // brackets deep
	MaxNodes     = 500  // AST nodes after parsing
	MemoryBudget = 100_000
)

// Program is one compiled expression.
type Program struct {
	prog *vm.Program
	// fast, when set, runs the program without the VM (see fast.go).
	fast *fast
	cond bool // compiled as a condition: the VM makes its value a bool
	Src  string
	// Uses says which costly parts of Env the expression reads, so the
	// engine computes them only when an expression needs them.
	Uses Uses
	// operator is set when the expression reads nothing but settings:
	// text the operator wrote, never the customer (RenderURL keeps it as is).
	operator bool
}

// Uses is a set of costly Env parts.
type Uses uint8

// Costly parts of Env.
const (
	UsesIntent    Uses = 1 << iota // intent, intent_score, faq, out_of_scope: the classifier
	UsesSentiment                  // sentiment, negative, evidence
	UsesHuman                      // human_requested, evidence
	// UsesFAQText is faq.title and faq.answer (or faq as a whole): the
	// entry's texts rendered in the conversation's language. Branches read
	// only faq.id and the score, so the answer is rendered only by the node
	// that says it. It implies UsesIntent.
	UsesFAQText
	// UsesSecret is secret.NAME (an http node's url, headers or body):
	// not costly, but the engine checks that every secret has a value.
	UsesSecret
)

// usesOf reads what a program uses from its top-level names and from how
// it reads faq (faqText: other than faq.id or faq.score).
func usesOf(names map[string]bool, faqText bool) Uses {
	var u Uses
	if names["intent"] || names["intent_score"] || names["faq"] || names["out_of_scope"] {
		u |= UsesIntent
	}
	if faqText {
		u |= UsesIntent | UsesFAQText
	}
	if names["sentiment"] || names["negative"] || names["evidence"] {
		u |= UsesSentiment
	}
	if names["human_requested"] || names["evidence"] {
		u |= UsesHuman
	}
	if names["secret"] {
		u |= UsesSecret
	}
	return u
}

// Compiler compiles expressions and templates, reporting problems with
// positions into a syntax.Reporter.
type Compiler struct {
	R *syntax.Reporter
	// Secrets are the secret names the project declares; SecretsOK is set
	// while the compiler compiles the parts of an http node that may read
	// them (url, headers, body). secret anywhere else is an error.
	Secrets   map[string]bool
	SecretsOK bool
	// Used collects the top-level names expressions read ("intent",
	// "negative"), so the engine computes costly fields only when needed.
	Used map[string]bool
	// Vars and Settings, when set, list every variable the project sets
	// and every setting it has: reading another (a typo) is an error.
	// Contact likewise lists the contact fields the project sets (or
	// declares): reading contact.X or contact.fields.X of another is one.
	Vars, Settings, Contact map[string]bool
	// Params lists the trigger params the project's flows declare
	// (params: in a flow file): reading another params.X is an error.
	Params map[string]bool
	// Literals collects string literals compared with payload, intent and
	// faq.id, so the project can check them against its buttons and labels.
	Literals []Literal
	// Hints explain names that are not expressions but exist elsewhere
	// (a slot of another kind of text): "unknown name code" gets one.
	Hints map[string]string

	slots []string // of the template being compiled, for "did you mean"
}

// hint adds to an "unknown name X" message the closest slot of the
// template being compiled, or the explanation Hints has for X.
func (c *Compiler) hint(msg string) string {
	name, ok := strings.CutPrefix(msg, "unknown name ")
	if !ok || strings.ContainsAny(name, " ;") {
		return memberHint(msg)
	}
	if s := syntax.Suggest(name, c.slots); s != "" {
		return msg + fmt.Sprintf("; did you mean {{ %s }}?", s)
	}
	if h, ok := c.Hints[name]; ok {
		return msg + "; " + h
	}
	if s := syntax.Suggest(name, Names()); s != "" {
		return msg + fmt.Sprintf("; did you mean %s?", s)
	}
	return msg
}

// memberHint adds the closest field to expr-lang's "faq has no field
// answr" (its type already in the names a lead writes, see clean).
func memberHint(msg string) string {
	var typ, field string
	if _, err := fmt.Sscanf(msg, "%s has no field %s", &typ, &field); err != nil {
		return msg
	}
	t, ok := structTypes[typ]
	if !ok {
		return msg
	}
	if s := syntax.Suggest(field, tagNames(t)); s != "" {
		return msg + fmt.Sprintf("; did you mean %s.%s?", typ, s)
	}
	return msg
}

// Literal is a string compared with a name: `payload == "order"`.
type Literal struct {
	Name  string // payload, intent or faq.id
	Value string
	Pos   syntax.Pos
	Path  string
}

// envType is the value type (not a pointer): expr then compiles field
// reads to indexed loads; programs run against a *Env, which expr
// dereferences, so an Env is never copied per run.
var envType = Env{}

// Cond compiles a condition: it must be boolean.
func (c *Compiler) Cond(s *syntax.Str, path string) *Program {
	if s == nil {
		return nil
	}
	return c.compile(s, path, s.Value, 0, 0, true)
}

// Value compiles an expression of any type.
func (c *Compiler) Value(s *syntax.Str, path string) *Program {
	if s == nil {
		return nil
	}
	return c.compile(s, path, s.Value, 0, 0, false)
}

// compile compiles src, which starts at (line, col) inside s.Value.
func (c *Compiler) compile(s *syntax.Str, path, src string, line, col int, cond bool) *Program {
	at := func(l, cl int) syntax.Pos { // l 1-based, cl 0-based, inside src
		if l <= 1 {
			return s.At(line, col+cl)
		}
		return s.At(line+l-1, cl)
	}
	if strings.TrimSpace(src) == "" {
		c.R.Errorf(at(1, 0), path, "empty expression")
		return nil
	}
	if n := utf8.RuneCountInString(src); n > MaxExprLen {
		c.R.Errorf(at(1, 0), path, "expression too long: %d characters, limit %d", n, MaxExprLen)
		return nil
	}
	if l, cl, ok := tooDeep(src); ok {
		c.R.Errorf(at(l, cl), path, "expression nested deeper than %d brackets", MaxNesting)
		return nil
	}
	opts := append([]expr.Option{expr.Env(envType), expr.MaxNodes(MaxNodes), expr.Patch(contactPatch{})}, funcOpts...)
	if cond {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			c.R.Errorf(at(fe.Line, fe.Column), path, "%s", c.hint(clean(fe.Message)))
		} else {
			msg := err.Error()
			if cond && strings.HasPrefix(msg, "expected bool") {
				msg = "condition must be boolean: " + msg
			}
			c.R.Errorf(at(1, 0), path, "%s", clean(msg))
		}
		return nil
	}
	if c.Used == nil {
		c.Used = map[string]bool{}
	}
	names := map[string]bool{}
	node := prog.Node()
	ast.Walk(&node, identVisitor(names))
	fv := &faqVisitor{}
	ast.Walk(&node, fv)
	// Positions of names and literals come from the tree before the
	// optimiser folds constants.
	refs := &refVisitor{}
	if tree, err := parser.ParseWithConfig(src, parseConfig); err == nil {
		ast.Walk(&tree.Node, refs)
	}
	bad := false
	for _, pat := range refs.patterns {
		if err := compileLiteral(pat.name); err != nil {
			l, cl := offsetPos(src, pat.from)
			c.R.Errorf(at(l, cl), path, "%s: invalid pattern %q: %s", pat.root, pat.name, regexpMessage(err))
			bad = true
		}
	}
	if bad {
		return nil
	}
	for _, lit := range refs.lits {
		l, cl := offsetPos(src, lit.from)
		c.Literals = append(c.Literals, Literal{Name: lit.root, Value: lit.name, Pos: at(l, cl), Path: path})
	}
	for _, r := range refs.refs {
		known := c.Vars
		switch r.root {
		case "settings":
			known = c.Settings
		case "secret":
			known = c.Secrets
			if known == nil {
				known = map[string]bool{} // no secrets declared: every name is unknown
			}
		case "contact":
			known = c.Contact
		case "params":
			known = c.Params
			if known == nil {
				known = map[string]bool{}
			}
		}
		if known == nil || known[r.name] {
			continue
		}
		l, cl := offsetPos(src, r.from)
		c.R.Errorf(at(l, cl), path, "%s", unknownRef(r, known))
	}
	if names["secret"] && !c.SecretsOK {
		l, cl := 1, 0
		for _, r := range refs.refs {
			if r.root == "secret" {
				l, cl = offsetPos(src, r.from)
				break
			}
		}
		c.R.Errorf(at(l, cl), path, "secret can only be used in an http node's url, headers or body: a secret never goes into a message, a variable or an event")
		return nil
	}
	for n := range names {
		c.Used[n] = true
	}
	return &Program{prog: prog, fast: compileFast(node), cond: cond, Src: src, Uses: usesOf(names, fv.all > fv.cheap),
		operator: operatorOnly(names)}
}

// unknownRef words a read of a variable, setting or contact field the
// project does not have, with the closest one it has.
func unknownRef(r varRef, known map[string]bool) string {
	written := r.root + "." + r.name
	if r.fields {
		written = "contact.fields." + r.name
	}
	msg := written + " is never set in this project"
	switch r.root {
	case "settings":
		msg = written + " is not in parley.yaml"
	case "secret":
		msg = written + " is not declared in parley.yaml's secrets"
	case "params":
		msg = written + " is not declared in any flow's params"
	}
	cands := keysOf(known)
	if r.root == "contact" {
		cands = append(cands, contactBuiltins...)
		if !r.fields {
			cands = append(cands, "fields")
		}
	}
	if s := syntax.Suggest(r.name, cands); s != "" {
		msg += fmt.Sprintf("; did you mean %s.%s?", r.root, s)
	} else if r.root == "contact" {
		msg += " (set it with `set: {contact." + r.name + ": ...}`, or list it under contact_fields in parley.yaml)"
	}
	return msg
}

// contactBuiltins are the contact's own fields; any other name after
// contact. is a stored field (contactPatch).
var contactBuiltins = []string{"id", "name", "lang"}

// contactPatch makes contact.X read the stored field X when X is not one
// of the contact's own fields: a flow sets `contact.address` and reads it
// back the same way (contact.fields.address is the same field).
type contactPatch struct{}

func (contactPatch) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok || m.Method {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	p, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 || id.Value != "contact" || p.Value == "fields" || slices.Contains(contactBuiltins, p.Value) {
		return
	}
	fields := &ast.MemberNode{Node: id, Property: &ast.StringNode{Value: "fields"}, Optional: m.Optional}
	fields.SetLocation(m.Location())
	fields.Property.SetLocation(p.Location())
	ast.Patch(n, &ast.MemberNode{Node: fields, Property: p, Optional: m.Optional})
}

// varRef is a read of vars.NAME, settings.NAME or a contact field
// (contact.NAME, or contact.fields.NAME when fields is set).
type varRef struct {
	root, name string
	from       int // rune offset in the source
	fields     bool
}

// refVisitor collects reads of vars and settings, literals compared with
// payload, intent and faq.id, and literal patterns of find and find_all
// (root is then the function's name).
type refVisitor struct{ refs, lits, patterns []varRef }

// compared names the operand a literal is compared with, or "".
func compared(n ast.Node) string {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		if n.Value == "payload" || n.Value == "intent" {
			return n.Value
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		p, ok2 := n.Property.(*ast.StringNode)
		if ok && ok2 && id.Value == "faq" && p.Value == "id" {
			return "faq.id"
		}
	}
	return ""
}

func (v *refVisitor) Visit(n *ast.Node) {
	if call, ok := (*n).(*ast.CallNode); ok {
		id, ok := call.Callee.(*ast.IdentifierNode)
		if ok && patternFuncs[id.Value] && len(call.Arguments) == 2 {
			if s, ok := call.Arguments[1].(*ast.StringNode); ok {
				v.patterns = append(v.patterns, varRef{root: id.Value, name: s.Value, from: s.Location().From})
			}
		}
		return
	}
	if b, ok := (*n).(*ast.BinaryNode); ok {
		lit := func(name string, x ast.Node) {
			if s, ok := x.(*ast.StringNode); ok && name != "" {
				v.lits = append(v.lits, varRef{root: name, name: s.Value, from: s.Location().From})
			}
		}
		switch b.Operator {
		case "==", "!=":
			lit(compared(b.Left), b.Right)
			lit(compared(b.Right), b.Left)
		case "in", "not in":
			if arr, ok := b.Right.(*ast.ArrayNode); ok {
				for _, x := range arr.Nodes {
					lit(compared(b.Left), x)
				}
			}
		}
		return
	}
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch base := m.Node.(type) {
	case *ast.IdentifierNode:
		switch {
		case base.Value == "vars" || base.Value == "settings" || base.Value == "secret" || base.Value == "params":
			v.refs = append(v.refs, varRef{root: base.Value, name: p.Value, from: m.Location().From})
		case base.Value == "contact" && !m.Method && p.Value != "fields" && !slices.Contains(contactBuiltins, p.Value):
			v.refs = append(v.refs, varRef{root: "contact", name: p.Value, from: m.Location().From})
		}
	case *ast.MemberNode:
		// contact.fields.NAME
		id, ok := base.Node.(*ast.IdentifierNode)
		fp, ok2 := base.Property.(*ast.StringNode)
		if ok && ok2 && id.Value == "contact" && fp.Value == "fields" {
			v.refs = append(v.refs, varRef{root: "contact", name: p.Value, from: m.Location().From, fields: true})
		}
	}
}

// offsetPos turns a rune offset into a 1-based line and 0-based column.
func offsetPos(src string, off int) (line, col int) {
	line = 1
	i := 0
	for _, r := range src {
		if i == off {
			break
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
		i++
	}
	return line, col
}

func keysOf(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// faqVisitor counts reads of faq: all of them, and those of its cheap
// fields faq.id and faq.score (known once the classifier ran).
type faqVisitor struct{ all, cheap int }

func (v *faqVisitor) Visit(n *ast.Node) {
	switch n := (*n).(type) {
	case *ast.IdentifierNode:
		if n.Value == "faq" {
			v.all++
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		p, ok2 := n.Property.(*ast.StringNode)
		if ok && ok2 && id.Value == "faq" && (p.Value == "id" || p.Value == "score") {
			v.cheap++
		}
	}
}

type identVisitor map[string]bool

func (v identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v[id.Value] = true
	}
}

// tooDeep finds where bracket nesting first exceeds MaxNesting, ignoring
// brackets inside string literals.
func tooDeep(src string) (line, col int, deep bool) {
	depth, line, col := 0, 1, 0
	var quote rune
	escaped := false
	for _, r := range src {
		switch {
		case quote != 0:
			if escaped {
				escaped = false
			} else if r == '\\' {
				escaped = true
			} else if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			depth++
			if depth > MaxNesting {
				return line, col, true
			}
		case r == ')' || r == ']' || r == '}':
			depth--
		}
		if r == '\n' {
			line, col = line+1, 0
		} else {
			col++
		}
	}
	return 0, 0, false
}

// NewVM returns a VM with the memory budget set; a VM is not safe for
// concurrent use, so callers pool them.
func NewVM() *vm.VM {
	return &vm.VM{MemoryBudget: MemoryBudget}
}

// Eval runs p against env.
func (p *Program) Eval(m *vm.VM, env *Env) (any, error) {
	if p.fast != nil {
		v := p.fast.value(env)
		if !p.cond || p.fast.kind == kBool {
			return v, nil
		}
		// A condition reading a vars or settings value: the VM's bool()
		// of it; what is neither nil nor a bool is an error the VM words.
		switch v.(type) {
		case nil:
			return false, nil
		case bool:
			return v, nil
		}
	}
	m.MemoryBudget = MemoryBudget
	v, err := m.Run(p.prog, env)
	if err != nil {
		err = oneLine(err)
	}
	return v, err
}

// oneLine is a VM error without the source and caret it repeats on more
// lines: the error event already says which expression. (Not inlined in
// Eval: the error target would escape on every run.)
func oneLine(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(clean(fe.Message))
	}
	return err
}

// Bool runs a condition.
func (p *Program) Bool(m *vm.VM, env *Env) (bool, error) {
	if p.fast != nil && p.fast.kind == kBool {
		return p.fast.bool(env), nil
	}
	v, err := p.Eval(m, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %T, want bool", v)
	}
	return b, nil
}

// goNames maps Go type names in expr-lang's messages to the names a
// support lead writes.
var goNames = strings.NewReplacer(
	"type *eval.Env", "the environment", "type eval.Env", "the environment",
	"type eval.Contact", "contact", "type eval.FAQ", "faq", "type eval.Response", "response", "type eval.Hours", "hours",
	"*eval.Env", "the environment", "eval.Env", "the environment",
	"eval.Contact", "contact", "eval.FAQ", "faq", "eval.Response", "response", "eval.Hours", "hours",
	"map[string]interface {}", "map", "interface {}", "any",
)

func clean(msg string) string { return strings.TrimSpace(goNames.Replace(msg)) }
