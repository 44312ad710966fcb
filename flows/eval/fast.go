package eval

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Most expressions of a flow are small tests of the message and the
// session (`payload == "human"`, `norm contains "жалоб"`, `intent_score >=
// 0.7 && !out_of_scope`). expr-lang reads every field of the environment
// through reflection and boxes it into an interface, an allocation per
// read; run on every message, that was the engine's largest cost. Such
// expressions are compiled a second time, from expr-lang's checked and
// optimised tree, into Go closures over *Env that read fields directly.
// Only operators whose meaning is plain Go on operands of one known type
// are taken (strings, bools, ints, floats, and vars/settings values as a
// whole or compared with a string), the string builtins trim, replace,
// lower and upper, and the extraction functions that yield a string
// (find, digits, email, phone) with literal patterns and bounds; anything
// else (other calls, optional chaining, mixed types, values read out of
// vars) keeps the VM, so results and errors stay expr-lang's.

// kind is the Go type a fast closure yields.
type kind uint8

const (
	kString kind = iota + 1
	kBool
	kInt
	kFloat
	kAny // a vars or settings value as stored: only returned, never operated on
)

// fast is a compiled expression: the closure of its kind is set.
type fast struct {
	kind kind
	str  func(*Env) string
	bool func(*Env) bool
	int  func(*Env) int
	flt  func(*Env) float64
	any  func(*Env) any
}

// value boxes the result, as the VM would return it.
func (f *fast) value(env *Env) any {
	switch f.kind {
	case kString:
		return f.str(env)
	case kBool:
		return f.bool(env)
	case kInt:
		return f.int(env)
	case kFloat:
		return f.flt(env)
	}
	return f.any(env)
}

func strFast(fn func(*Env) string) *fast    { return &fast{kind: kString, str: fn} }
func boolFast(fn func(*Env) bool) *fast     { return &fast{kind: kBool, bool: fn} }
func intFast(fn func(*Env) int) *fast       { return &fast{kind: kInt, int: fn} }
func floatFast(fn func(*Env) float64) *fast { return &fast{kind: kFloat, flt: fn} }

// fastNames are the top-level names of Env read directly.
var fastNames = map[string]*fast{
	"text":            strFast(func(e *Env) string { return e.Text }),
	"norm":            strFast(func(e *Env) string { return e.Norm }),
	"payload":         strFast(func(e *Env) string { return e.Payload }),
	"channel":         strFast(func(e *Env) string { return e.Channel }),
	"lang":            strFast(func(e *Env) string { return e.Lang }),
	"flow":            strFast(func(e *Env) string { return e.Flow }),
	"node":            strFast(func(e *Env) string { return e.Node }),
	"fallbacks":       intFast(func(e *Env) int { return e.Fallbacks }),
	"retries":         intFast(func(e *Env) int { return e.Retries }),
	"intent":          strFast(func(e *Env) string { return e.Intent }),
	"intent_score":    floatFast(func(e *Env) float64 { return e.IntentScore }),
	"out_of_scope":    boolFast(func(e *Env) bool { return e.OutOfScope }),
	"sentiment":       floatFast(func(e *Env) float64 { return e.Sentiment }),
	"negative":        boolFast(func(e *Env) bool { return e.Negative }),
	"human_requested": boolFast(func(e *Env) bool { return e.HumanRequested }),
}

// fastMembers are the fields of Env's structs read directly.
var fastMembers = map[[2]string]*fast{
	{"contact", "id"}:      strFast(func(e *Env) string { return e.Contact.ID }),
	{"contact", "name"}:    strFast(func(e *Env) string { return e.Contact.Name }),
	{"contact", "lang"}:    strFast(func(e *Env) string { return e.Contact.Lang }),
	{"faq", "id"}:          strFast(func(e *Env) string { return e.FAQ.ID }),
	{"faq", "title"}:       strFast(func(e *Env) string { return e.FAQ.Title }),
	{"faq", "answer"}:      strFast(func(e *Env) string { return e.FAQ.Answer }),
	{"faq", "score"}:       floatFast(func(e *Env) float64 { return e.FAQ.Score }),
	{"response", "status"}: intFast(func(e *Env) int { return e.Response.Status }),
	{"response", "ok"}:     boolFast(func(e *Env) bool { return e.Response.OK }),
}

// compileFast compiles a checked tree, or returns nil when some part of it
// is not one the closures cover.
func compileFast(n ast.Node) *fast { return fastNode(n) }

// sameKind reports whether the checker's type for a node is the Go type
// the closure yields; any mismatch keeps the VM.
func sameKind(t reflect.Type, k kind) bool {
	if t == nil {
		return false
	}
	switch k {
	case kString:
		return t.Kind() == reflect.String
	case kBool:
		return t.Kind() == reflect.Bool
	case kInt:
		return t.Kind() == reflect.Int
	case kFloat:
		return t.Kind() == reflect.Float64
	case kAny:
		return t.Kind() == reflect.Interface
	}
	return false
}

func fastNode(n ast.Node) *fast {
	var f *fast
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		f = strFast(func(*Env) string { return v })
	case *ast.BoolNode:
		v := n.Value
		f = boolFast(func(*Env) bool { return v })
	case *ast.IntegerNode:
		// The checker types an integer literal compared with a float as a
		// float; the VM then pushes it as one.
		v := n.Value
		if t := n.Type(); t != nil && t.Kind() == reflect.Float64 {
			fv := float64(v)
			f = floatFast(func(*Env) float64 { return fv })
		} else {
			f = intFast(func(*Env) int { return v })
		}
	case *ast.FloatNode:
		v := n.Value
		f = floatFast(func(*Env) float64 { return v })
	case *ast.IdentifierNode:
		f = fastNames[n.Value]
	case *ast.MemberNode:
		f = fastMember(n)
	case *ast.UnaryNode:
		f = fastUnary(n)
	case *ast.BinaryNode:
		f = fastBinary(n)
	case *ast.ConditionalNode:
		f = fastConditional(n)
	case *ast.BuiltinNode:
		if n.Map == nil {
			f = fastBuiltin(n.Name, n.Arguments)
		}
	case *ast.CallNode:
		f = fastCall(n)
	}
	if f == nil || !sameKind(n.Type(), f.kind) {
		return nil
	}
	return f
}

// propertyName is the name of a plain `x.name` read, or "".
func propertyName(m *ast.MemberNode) string {
	if m.Optional || m.Method {
		return ""
	}
	if p, ok := m.Property.(*ast.StringNode); ok {
		return p.Value
	}
	return ""
}

func fastMember(m *ast.MemberNode) *fast {
	name := propertyName(m)
	if name == "" {
		return nil
	}
	switch base := m.Node.(type) {
	case *ast.IdentifierNode:
		switch base.Value {
		case "vars":
			// A missing key reads as nil, as the VM's map lookup does.
			return &fast{kind: kAny, any: func(e *Env) any { return e.Vars[name] }}
		case "settings":
			return &fast{kind: kAny, any: func(e *Env) any { return e.Settings[name] }}
		case "params":
			return &fast{kind: kAny, any: func(e *Env) any { return e.Params[name] }}
		}
		return fastMembers[[2]string{base.Value, name}]
	case *ast.MemberNode:
		// contact.fields.NAME: a missing field reads as "".
		if id, ok := base.Node.(*ast.IdentifierNode); ok && id.Value == "contact" && propertyName(base) == "fields" {
			return strFast(func(e *Env) string { return e.Contact.Fields[name] })
		}
	}
	return nil
}

func fastUnary(u *ast.UnaryNode) *fast {
	x := fastNode(u.Node)
	if x == nil {
		return nil
	}
	switch u.Operator {
	case "!", "not":
		if x.kind == kBool {
			b := x.bool
			return boolFast(func(e *Env) bool { return !b(e) })
		}
	case "-":
		switch x.kind {
		case kInt:
			i := x.int
			return intFast(func(e *Env) int { return -i(e) })
		case kFloat:
			fl := x.flt
			return floatFast(func(e *Env) float64 { return -fl(e) })
		}
	case "+":
		if x.kind == kInt || x.kind == kFloat {
			return x
		}
	}
	return nil
}

func fastConditional(c *ast.ConditionalNode) *fast {
	cond, a, b := fastNode(c.Cond), fastNode(c.Exp1), fastNode(c.Exp2)
	if cond == nil || a == nil || b == nil || cond.kind != kBool || a.kind != b.kind {
		return nil
	}
	test := cond.bool
	switch a.kind {
	case kString:
		x, y := a.str, b.str
		return strFast(func(e *Env) string {
			if test(e) {
				return x(e)
			}
			return y(e)
		})
	case kBool:
		x, y := a.bool, b.bool
		return boolFast(func(e *Env) bool {
			if test(e) {
				return x(e)
			}
			return y(e)
		})
	}
	return nil
}

func fastBinary(b *ast.BinaryNode) *fast {
	switch b.Operator {
	case "in":
		return fastIn(b)
	case "matches":
		return fastMatches(b)
	}
	l, r := fastNode(b.Left), fastNode(b.Right)
	if l == nil || r == nil {
		return nil
	}
	if l.kind == kAny || r.kind == kAny {
		return anyEqualsString(b.Operator, l, r)
	}
	if l.kind != r.kind && b.Operator != "+" {
		// The VM compares an int with a float as two float64s.
		l, r = toFloat(l), toFloat(r)
	}
	if l == nil || r == nil || l.kind != r.kind {
		return nil
	}
	switch l.kind {
	case kBool:
		x, y := l.bool, r.bool
		switch b.Operator {
		case "&&", "and":
			return boolFast(func(e *Env) bool { return x(e) && y(e) })
		case "||", "or":
			return boolFast(func(e *Env) bool { return x(e) || y(e) })
		case "==":
			return boolFast(func(e *Env) bool { return x(e) == y(e) })
		case "!=":
			return boolFast(func(e *Env) bool { return x(e) != y(e) })
		}
	case kString:
		x, y := l.str, r.str
		switch b.Operator {
		case "==":
			return boolFast(func(e *Env) bool { return x(e) == y(e) })
		case "!=":
			return boolFast(func(e *Env) bool { return x(e) != y(e) })
		case "contains":
			return boolFast(func(e *Env) bool { return strings.Contains(x(e), y(e)) })
		case "startsWith":
			return boolFast(func(e *Env) bool { return strings.HasPrefix(x(e), y(e)) })
		case "endsWith":
			return boolFast(func(e *Env) bool { return strings.HasSuffix(x(e), y(e)) })
		case "+":
			return strFast(func(e *Env) string { return x(e) + y(e) })
		}
	case kInt:
		return ordered(b.Operator, l.int, r.int)
	case kFloat:
		return ordered(b.Operator, l.flt, r.flt)
	}
	return nil
}

// anyEqualsString compares a stored value with a string (`vars.order !=
// ""`, the test of what an extraction found): the VM's Equal holds only
// for a string with the same text, whatever else the value is (nil, a
// number, a list). Other operators on stored values keep the VM.
func anyEqualsString(op string, l, r *fast) *fast {
	if l.kind == kString {
		l, r = r, l
	}
	if l.kind != kAny || r.kind != kString || (op != "==" && op != "!=") {
		return nil
	}
	x, y := l.any, r.str
	eq := func(e *Env) bool {
		s, ok := x(e).(string)
		return ok && s == y(e)
	}
	if op == "!=" {
		return boolFast(func(e *Env) bool { return !eq(e) })
	}
	return boolFast(eq)
}

// fastBuiltin is one of expr-lang's string builtins on string arguments.
func fastBuiltin(name string, in []ast.Node) *fast {
	args := make([]func(*Env) string, len(in))
	for i, a := range in {
		f := fastNode(a)
		if f == nil || f.kind != kString {
			return nil
		}
		args[i] = f.str
	}
	switch {
	case name == "trim" && len(args) == 1:
		s := args[0]
		return strFast(func(e *Env) string { return strings.TrimSpace(s(e)) })
	case name == "trim" && len(args) == 2:
		s, cut := args[0], args[1]
		return strFast(func(e *Env) string { return strings.Trim(s(e), cut(e)) })
	case name == "replace" && len(args) == 3:
		s, old, new := args[0], args[1], args[2]
		return strFast(func(e *Env) string { return strings.ReplaceAll(s(e), old(e), new(e)) })
	case name == "lower" && len(args) == 1:
		s := args[0]
		return strFast(func(e *Env) string { return strings.ToLower(s(e)) })
	case name == "upper" && len(args) == 1:
		s := args[0]
		return strFast(func(e *Env) string { return strings.ToUpper(s(e)) })
	}
	return nil
}

// fastCall is an extraction function that yields a string, with its
// pattern or its bounds written as literals (checked here as the VM's call
// would check them; otherwise the VM words the error).
func fastCall(c *ast.CallNode) *fast {
	id, ok := c.Callee.(*ast.IdentifierNode)
	if !ok || len(c.Arguments) == 0 {
		return nil
	}
	x := fastNode(c.Arguments[0])
	if x == nil || x.kind != kString {
		return nil
	}
	s := x.str
	switch {
	case id.Value == "email" && len(c.Arguments) == 1:
		return strFast(func(e *Env) string { return Email(s(e)) })
	case id.Value == "phone" && len(c.Arguments) == 1:
		return strFast(func(e *Env) string { return Phone(s(e)) })
	case id.Value == "find" && len(c.Arguments) == 2:
		p, ok := c.Arguments[1].(*ast.StringNode)
		if !ok {
			return nil
		}
		re, err := pattern(p.Value)
		if err != nil {
			return nil
		}
		return strFast(func(e *Env) string { return Find(s(e), re) })
	case id.Value == "digits" && len(c.Arguments) == 3:
		lo, ok1 := c.Arguments[1].(*ast.IntegerNode)
		hi, ok2 := c.Arguments[2].(*ast.IntegerNode)
		if !ok1 || !ok2 || lo.Value < 1 || hi.Value < lo.Value || hi.Value > maxDigits {
			return nil
		}
		a, b := lo.Value, hi.Value
		return strFast(func(e *Env) string { return Digits(s(e), a, b) })
	}
	return nil
}

// toFloat widens an int to float64; a float stays; anything else is nil.
func toFloat(f *fast) *fast {
	switch f.kind {
	case kFloat:
		return f
	case kInt:
		i := f.int
		return floatFast(func(e *Env) float64 { return float64(i(e)) })
	}
	return nil
}

// fastIn is a string tested against a list of string literals (which the
// optimiser turns into a set).
func fastIn(b *ast.BinaryNode) *fast {
	l := fastNode(b.Left)
	if l == nil || l.kind != kString {
		return nil
	}
	var set map[string]struct{}
	switch r := b.Right.(type) {
	case *ast.ConstantNode:
		s, ok := r.Value.(map[string]struct{})
		if !ok {
			return nil
		}
		set = s
	case *ast.ArrayNode:
		set = make(map[string]struct{}, len(r.Nodes))
		for _, x := range r.Nodes {
			s, ok := x.(*ast.StringNode)
			if !ok {
				return nil
			}
			set[s.Value] = struct{}{}
		}
	default:
		return nil
	}
	x := l.str
	return boolFast(func(e *Env) bool {
		_, ok := set[x(e)]
		return ok
	})
}

// fastMatches is a string matched against a literal pattern.
func fastMatches(b *ast.BinaryNode) *fast {
	l := fastNode(b.Left)
	p, ok := b.Right.(*ast.StringNode)
	if l == nil || l.kind != kString || !ok {
		return nil
	}
	re, err := regexp.Compile(p.Value)
	if err != nil {
		return nil
	}
	x := l.str
	return boolFast(func(e *Env) bool { return re.MatchString(x(e)) })
}

// ordered is a comparison of two ints or two floats; nil for another
// operator.
func ordered[T int | float64](op string, x, y func(*Env) T) *fast {
	switch op {
	case "==":
		return boolFast(func(e *Env) bool { return x(e) == y(e) })
	case "!=":
		return boolFast(func(e *Env) bool { return x(e) != y(e) })
	case "<":
		return boolFast(func(e *Env) bool { return x(e) < y(e) })
	case "<=":
		return boolFast(func(e *Env) bool { return x(e) <= y(e) })
	case ">":
		return boolFast(func(e *Env) bool { return x(e) > y(e) })
	case ">=":
		return boolFast(func(e *Env) bool { return x(e) >= y(e) })
	}
	return nil
}
