package eval

import (
	"fmt"

	"github.com/expr-lang/expr/vm"

	"github.com/parley-chat/parley/flows/syntax"
)

// JSON is a JSON value template (an http node's body): every string in it
// is a template; a string that is exactly one {{ hole }} keeps the hole's
// type, so numbers and booleans stay numbers and booleans.
type JSON struct {
	lit  any
	tmpl *Template
	keys []string
	obj  []*JSON
	arr  []*JSON
	kind syntax.Kind
	// Uses is what the templates inside read of Env's costly parts.
	Uses Uses
}

// JSON compiles a YAML value as a JSON template.
func (c *Compiler) JSON(v *syntax.Value, path string) *JSON {
	if v == nil {
		return nil
	}
	j := &JSON{kind: v.Kind}
	switch v.Kind {
	case syntax.ScalarKind:
		if v.Type == "str" {
			s := v.Scalar
			j.tmpl = c.Template(&s, path)
			if j.tmpl != nil {
				j.Uses = j.tmpl.Uses
			}
		} else {
			j.lit = v.Any()
		}
	case syntax.MapKind:
		for _, f := range v.Map {
			j.keys = append(j.keys, f.Key.Value)
			x := c.JSON(f.Val, path+"."+f.Key.Value)
			j.Uses |= x.Uses
			j.obj = append(j.obj, x)
		}
	case syntax.SeqKind:
		for i, x := range v.Seq {
			y := c.JSON(x, fmt.Sprintf("%s[%d]", path, i))
			j.Uses |= y.Uses
			j.arr = append(j.arr, y)
		}
	}
	return j
}

// Render builds the value; run-time errors in holes are returned with the
// partial value.
func (j *JSON) Render(m *vm.VM, env *Env) (any, error) {
	if j == nil {
		return nil, nil
	}
	switch j.kind {
	case syntax.ScalarKind:
		if j.tmpl == nil {
			return j.lit, nil
		}
		return j.tmpl.Value(m, env)
	case syntax.MapKind:
		out := make(map[string]any, len(j.keys))
		var first error
		for i, k := range j.keys {
			v, err := j.obj[i].Render(m, env)
			if err != nil && first == nil {
				first = err
			}
			out[k] = v
		}
		return out, first
	case syntax.SeqKind:
		out := make([]any, len(j.arr))
		var first error
		for i, x := range j.arr {
			v, err := x.Render(m, env)
			if err != nil && first == nil {
				first = err
			}
			out[i] = v
		}
		return out, first
	}
	return nil, nil
}
