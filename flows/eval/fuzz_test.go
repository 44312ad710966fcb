package eval_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// FuzzTemplate compiles arbitrary template text: no panics, every error
// inside the text's lines, and a compiled template renders without panic.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Здравствуйте, {{ contact.name }}!",
		"{{ vars.order }} {{ 1 + }}",
		"{{ unclosed",
		"{{ {'a': 'b'}[vars.x] ?? 'c' }}",
		"{{ text matches \"([\" }}",
		"{{ ((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))) }}",
		"line one\n{{ now.Hour() > 9 ? 'day' : 'night' }}\n{{ len(evidence) }}",
		"{{ response.body?.items?.[0]?.qty ?? 0 }}",
		"}} {{ }} {{",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, text string, style uint8) {
		if !utf8.ValidString(text) {
			return
		}
		s := &syntax.Str{Value: text, Pos: syntax.Pos{File: "f.yaml", Line: 3, Col: 10}, Style: syntax.Style(style % 3), Indent: 5}
		r := &syntax.Reporter{}
		c := eval.Compiler{R: r}
		tm := c.Template(s, "nodes.x.say")
		lines := strings.Count(text, "\n") + 1
		for _, e := range r.List {
			if e.File != "f.yaml" || e.Line < 3 || e.Line > 3+lines || e.Col < 1 {
				t.Fatalf("error outside the text (lines 3..%d): %v", 3+lines, e)
			}
		}
		if tm == nil {
			if len(r.List) == 0 {
				t.Fatal("template rejected without an error")
			}
			return
		}
		m := eval.NewVM()
		_, _ = tm.Render(m, &eval.Env{Vars: map[string]any{"x": "a"}})
	})
}
