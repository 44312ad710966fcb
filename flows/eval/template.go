package eval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"

	"github.com/parley-chat/parley/flows/syntax"
)

// Template is text with {{ expr }} holes, compiled once.
type Template struct {
	parts []part
	// Static is set when the template has no holes (rendering is free).
	Static bool
	text   string
	// Uses is what the holes read of Env's costly parts.
	Uses Uses
	// Slots are the slot holes in order (TemplateSlots), repeats included.
	Slots []string
	// Src is the template as written, holes included (for labels in
	// graphs and messages; never rendered to a customer).
	Src string
}

type part struct {
	lit  string
	prog *Program
	slot string // a hole the caller fills (TemplateSlots)
}

// Template compiles s as a template. Holes may hold any type; values are
// rendered as text (numbers without a trailing .0, nil as "").
func (c *Compiler) Template(s *syntax.Str, path string) *Template {
	return c.TemplateSlots(s, path)
}

// TemplateSlots compiles s as a template in which a hole holding just one
// of the slot names (`{{ code }}`) is not an expression but a place the
// caller fills later with a value the engine cannot know (a link code
// the runtime issues). Segments renders such a template.
func (c *Compiler) TemplateSlots(s *syntax.Str, path string, slots ...string) *Template {
	if s == nil {
		return nil
	}
	c.slots = slots
	defer func() { c.slots = nil }()
	t := &Template{Src: s.Value}
	src := s.Value
	line, col := 0, 0 // position of src[0] inside s.Value
	advance := func(chunk string) {
		for _, r := range chunk {
			if r == '\n' {
				line, col = line+1, 0
			} else {
				col++
			}
		}
	}
	ok := true
	for {
		i := strings.Index(src, "{{")
		if i < 0 {
			if src != "" {
				t.parts = append(t.parts, part{lit: src})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: src[:i]})
		}
		advance(src[:i])
		j := strings.Index(src[i+2:], "}}")
		if j < 0 {
			c.R.Errorf(s.At(line, col), path, "unclosed {{ in template")
			return nil
		}
		inner := src[i+2 : i+2+j]
		if name := strings.TrimSpace(inner); slices.Contains(slots, name) {
			t.parts = append(t.parts, part{slot: name})
			t.Slots = append(t.Slots, name)
			advance(src[i : i+2+j+2])
			src = src[i+2+j+2:]
			continue
		}
		p := c.compile(s, path, inner, line, col+2, false)
		if p == nil {
			ok = false
		} else {
			t.Uses |= p.Uses
		}
		t.parts = append(t.parts, part{prog: p})
		advance(src[i : i+2+j+2])
		src = src[i+2+j+2:]
	}
	if !ok {
		return nil
	}
	if len(t.Slots) > 0 {
		return t // never static: the slots are filled by Segments' caller
	}
	if len(t.parts) == 0 {
		t.Static, t.text = true, ""
	} else if len(t.parts) == 1 && t.parts[0].prog == nil {
		t.Static, t.text = true, t.parts[0].lit
	}
	return t
}

// Render fills the holes. A hole that fails at run time renders as "" and
// the first error is returned alongside the text, so a flow still answers.
func (t *Template) Render(m *vm.VM, env *Env) (string, error) {
	if t.Static {
		return t.text, nil
	}
	if len(t.parts) == 1 && t.parts[0].prog != nil {
		if f := t.parts[0].prog.fast; f != nil && f.kind == kString {
			return f.str(env), nil // "{{ faq.answer }}": the string itself
		}
	}
	// The pieces are gathered first so the text is allocated once.
	var buf [8]string
	pieces := buf[:0]
	n := 0
	var first error
	for _, p := range t.parts {
		var s string
		switch {
		case p.prog == nil:
			s = p.lit // a slot renders as nothing here: see Segments
		case p.prog.fast != nil && p.prog.fast.kind == kString:
			s = p.prog.fast.str(env) // no boxing for the common text hole
		default:
			v, err := p.prog.Eval(m, env)
			if err != nil {
				if first == nil {
					first = fmt.Errorf("{{%s}}: %w", p.prog.Src, err)
				}
				continue
			}
			s = Format(v)
		}
		pieces = append(pieces, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range pieces {
		b.WriteString(s)
	}
	return b.String(), first
}

// Segment is a piece of a rendered template: literal text, or the name
// of a slot the caller fills.
type Segment struct {
	Text string
	Slot string
}

// Segments renders the expression holes and keeps the slots as segments of
// their own, in order; adjacent text is joined. Keeping slots apart (rather
// than as "{{ code }}" in the text) means a variable whose value happens to
// contain such a placeholder is never filled. A failing hole renders as ""
// and the first error is returned, as in Render.
func (t *Template) Segments(m *vm.VM, env *Env) ([]Segment, error) {
	var out []Segment
	var first error
	addText := func(s string) {
		if s == "" {
			return
		}
		if n := len(out); n > 0 && out[n-1].Slot == "" {
			out[n-1].Text += s
			return
		}
		out = append(out, Segment{Text: s})
	}
	for _, p := range t.parts {
		switch {
		case p.slot != "":
			out = append(out, Segment{Slot: p.slot})
		case p.prog == nil:
			addText(p.lit)
		default:
			v, err := p.prog.Eval(m, env)
			if err != nil {
				if first == nil {
					first = fmt.Errorf("{{%s}}: %w", p.prog.Src, err)
				}
				continue
			}
			addText(Format(v))
		}
	}
	return out, first
}

// Value renders a template that is exactly one hole as the hole's value
// (so a JSON body keeps numbers); any other template renders as a string.
func (t *Template) Value(m *vm.VM, env *Env) (any, error) {
	if len(t.parts) == 1 && t.parts[0].prog != nil {
		return t.parts[0].prog.Eval(m, env)
	}
	return t.Render(m, env)
}

// Format renders a value the way templates show it.
func Format(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// RuneLen is a helper for limits on rendered text.
func RuneLen(s string) int { return utf8.RuneCountInString(s) }
