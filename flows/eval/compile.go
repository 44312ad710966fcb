package eval

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
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
	Src  string
	// Uses says which costly parts of Env the expression reads, so the
	// engine computes them only when an expression needs them.
	Uses Uses
}

// Uses is a set of costly Env parts.
type Uses uint8

// Costly parts of Env.
const (
	UsesIntent    Uses = 1 << iota // intent, intent_score, faq, out_of_scope
	UsesSentiment                  // sentiment, negative, evidence
	UsesHuman                      // human_requested, evidence
)

func usesOf(names map[string]bool) Uses {
	var u Uses
	if names["intent"] || names["intent_score"] || names["faq"] || names["out_of_scope"] {
		u |= UsesIntent
	}
	if names["sentiment"] || names["negative"] || names["evidence"] {
		u |= UsesSentiment
	}
	if names["human_requested"] || names["evidence"] {
		u |= UsesHuman
	}
	return u
}

// Compiler compiles expressions and templates, reporting problems with
// positions into a syntax.Reporter.
type Compiler struct {
	R *syntax.Reporter
	// Used collects the top-level names expressions read ("intent",
	// "negative"), so the engine computes costly fields only when needed.
	Used map[string]bool
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
	opts := []expr.Option{expr.Env(envType), expr.MaxNodes(MaxNodes)}
	if cond {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			c.R.Errorf(at(fe.Line, fe.Column), path, "%s", clean(fe.Message))
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
	for n := range names {
		c.Used[n] = true
	}
	return &Program{prog: prog, Src: src, Uses: usesOf(names)}
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
	m.MemoryBudget = MemoryBudget
	return m.Run(p.prog, env)
}

// Bool runs a condition.
func (p *Program) Bool(m *vm.VM, env *Env) (bool, error) {
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
	"type eval.Contact", "contact", "type eval.FAQ", "faq", "type eval.Response", "response",
	"*eval.Env", "the environment", "eval.Env", "the environment",
	"eval.Contact", "contact", "eval.FAQ", "faq", "eval.Response", "response",
	"map[string]interface {}", "map", "interface {}", "any",
)

func clean(msg string) string { return goNames.Replace(msg) }
