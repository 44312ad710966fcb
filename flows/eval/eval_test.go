package eval_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

func str(v string) *syntax.Str {
	return &syntax.Str{Value: v, Pos: syntax.Pos{File: "f.yaml", Line: 4, Col: 10}}
}

func TestTemplateRender(t *testing.T) {
	env := &eval.Env{
		Text: "Привет", Lang: "ru", Now: time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC),
		Contact: eval.Contact{Name: "Анна", Fields: map[string]string{"city": "Казань"}},
		Vars:    map[string]any{"n": 3.0, "big": 1e21, "half": 0.5, "list": []any{"a", "b"}, "none": nil},
	}
	for _, tc := range []struct{ src, want string }{
		{"plain text", "plain text"},
		{"{{ contact.name }} из {{ contact.fields.city }}", "Анна из Казань"},
		{"{{ vars.n }} {{ vars.n + 1 }} {{ vars.half }} {{ vars.big }}", "3 4 0.5 1000000000000000000000"},
		{"{{ vars.none }}|{{ vars.missing }}|", "||"},
		{"{{ now.Hour() }}:{{ now.Minute() }}", "14:30"},
		{"{{ join(vars.list, ', ') }}", "a, b"},
		{"{{ lang == 'ru' ? 'да' : 'yes' }}", "да"},
	} {
		r := &syntax.Reporter{}
		tm := (&eval.Compiler{R: r}).Template(str(tc.src), "x")
		if r.Len() > 0 {
			t.Fatalf("%q: %v", tc.src, r.List)
		}
		got, err := tm.Render(eval.NewVM(), env)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
}

func TestTemplateRuntimeErrorRendersEmpty(t *testing.T) {
	r := &syntax.Reporter{}
	tm := (&eval.Compiler{R: r}).Template(str("a{{ vars.m.x.y }}b"), "x")
	got, err := tm.Render(eval.NewVM(), &eval.Env{Vars: map[string]any{"m": "str"}})
	if got != "ab" || err == nil {
		t.Fatalf("got %q, %v: want the hole empty and the error reported", got, err)
	}
}

// TestErrorPositions checks the rebasing of expr-lang's positions onto
// the YAML file for each scalar style.
func TestErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		s         syntax.Str
		template  bool
		line, col int
	}{
		{"plain", syntax.Str{Value: `text == txt`, Pos: syntax.Pos{Line: 4, Col: 10}}, false, 4, 18},
		{"quoted", syntax.Str{Value: `text == txt`, Pos: syntax.Pos{Line: 4, Col: 10}, Style: syntax.Quoted}, false, 4, 19},
		{"block second line", syntax.Str{Value: "text == \"a\" ||\n  txt == \"b\"\n", Pos: syntax.Pos{Line: 4, Col: 9}, Style: syntax.Block, Indent: 7}, false, 6, 9},
		{"template hole", syntax.Str{Value: `Привет, {{ contact.nmae }}!`, Pos: syntax.Pos{Line: 2, Col: 10}, Style: syntax.Quoted}, true, 2, 30},
		{"template on a block line", syntax.Str{Value: "Строка\nи {{ 1 + }}", Pos: syntax.Pos{Line: 2, Col: 5}, Style: syntax.Block, Indent: 7}, true, 4, 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &syntax.Reporter{}
			c := &eval.Compiler{R: r, Contact: map[string]bool{"city": true}}
			s := tc.s
			s.Pos.File = "f.yaml"
			if tc.template {
				c.Template(&s, "p")
			} else {
				c.Cond(&s, "p")
			}
			if len(r.List) != 1 {
				t.Fatalf("want one error, got %v", r.List)
			}
			e := r.List[0]
			if diff := cmp.Diff([2]int{tc.line, tc.col}, [2]int{e.Line, e.Col}); diff != "" {
				t.Errorf("%v: position (-want +got):\n%s", e, diff)
			}
		})
	}
}

func TestJSONKeepsTypes(t *testing.T) {
	r := &syntax.Reporter{}
	v := syntax.ParseValue(r, "b.yaml", []byte("qty: \"{{ vars.n }}\"\nnote: \"n={{ vars.n }}\"\nlist: [1, true, x]\n"))
	j := (&eval.Compiler{R: r}).JSON(v, "body")
	got, err := j.Render(eval.NewVM(), &eval.Env{Vars: map[string]any{"n": 2.0}})
	if err != nil || r.Len() > 0 {
		t.Fatal(err, r.List)
	}
	want := map[string]any{"qty": 2.0, "note": "n=2", "list": []any{1.0, true, "x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatal(diff)
	}
}

// TestMemoryBudget: an expression that builds huge values stops with an
// error instead of eating the process's memory.
func TestMemoryBudget(t *testing.T) {
	r := &syntax.Reporter{}
	p := (&eval.Compiler{R: r}).Cond(str(`len(map(1..100000000, # + 1)) > 0`), "x")
	if p == nil {
		t.Fatal(r.List)
	}
	start := time.Now()
	_, err := p.Bool(eval.NewVM(), &eval.Env{})
	if err == nil {
		t.Fatal("want a memory budget error")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestLimitsRejectBeforeCompiling(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("(", 10000) + "true" + strings.Repeat(")", 10000),
		"text == '" + strings.Repeat("x", eval.MaxExprLen) + "'",
	} {
		r := &syntax.Reporter{}
		if p := (&eval.Compiler{R: r}).Cond(str(src), "x"); p != nil || r.Len() != 1 {
			t.Fatalf("want one error, got %v", r.List)
		}
	}
}

func TestTemplateSlots(t *testing.T) {
	r := &syntax.Reporter{}
	c := &eval.Compiler{R: r}
	tm := c.TemplateSlots(str("{{ contact.name }}, код: {{code}}, {{ vars.v }} ещё {{ minutes }} мин."), "x", "code", "minutes")
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	// A value that looks like a slot stays text: only the template's own
	// slots are filled.
	got, err := tm.Segments(eval.NewVM(), &eval.Env{Contact: eval.Contact{Name: "Анна"}, Vars: map[string]any{"v": "{{ code }}"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []eval.Segment{{Text: "Анна, код: "}, {Slot: "code"}, {Text: ", {{ code }} ещё "}, {Slot: "minutes"}, {Text: " мин."}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code", "minutes"}, tm.Slots); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	// Without the slot names the same hole is an expression: unknown name.
	c.Template(str("код: {{ code }}"), "y")
	if r.Len() != 1 || !strings.Contains(r.List[0].Msg, "code") {
		t.Errorf("want one error about code, got %v", r.List)
	}
	// A static template is one text segment.
	st := c.TemplateSlots(str("просто текст"), "z", "code")
	seg, _ := st.Segments(eval.NewVM(), &eval.Env{})
	if diff := cmp.Diff([]eval.Segment{{Text: "просто текст"}}, seg); diff != "" {
		t.Errorf("static (-want +got):\n%s", diff)
	}
}

// TestContactFieldOneWay: a field set as contact.address is read back as
// contact.address or contact.fields.address, on the fast path and in the VM.
func TestContactFieldOneWay(t *testing.T) {
	env := &eval.Env{Contact: eval.Contact{Name: "Анна", Fields: map[string]string{"address": "Тверская, 1"}}}
	for _, src := range []string{
		"contact.address", "contact.fields.address", `contact["address"]`,
		"upper(contact.address)", "contact.address + ''", "contact.missing ?? 'нет'",
	} {
		r := &syntax.Reporter{}
		p := (&eval.Compiler{R: r}).Value(str(src), "x")
		if r.Len() > 0 {
			t.Fatalf("%s: %v", src, r.List)
		}
		got, err := p.Eval(eval.NewVM(), env)
		want := "Тверская, 1"
		switch src {
		case "upper(contact.address)":
			want = "ТВЕРСКАЯ, 1"
		case "contact.missing ?? 'нет'":
			want = ""
		}
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %q", src, got, err, want)
		}
	}
}

// TestDidYouMean: unknown names and fields get the closest known one.
func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`intnt == "returns"`, `unknown name intnt; did you mean intent?`},
		{`contact.nme == ""`, `contact.nme is never set in this project; did you mean contact.name?`},
		{`contact.fields.adress == ""`, `contact.fields.adress is never set in this project; did you mean contact.address?`},
		{`contact.adress == ""`, `contact.adress is never set in this project; did you mean contact.address?`},
		{`contact.tier == "gold"`, "contact.tier is never set in this project (set it with `set: {contact.tier: ...}`, or list it under contact_fields in parley.yaml)"},
		{`faq.answr != ""`, `faq has no field answr; did you mean faq.answer?`},
		{`digts(text, 6, 10) != ""`, `unknown name digts; did you mean digits?`},
	} {
		r := &syntax.Reporter{}
		c := &eval.Compiler{R: r, Contact: map[string]bool{"address": true}}
		c.Cond(str(tc.src), "x")
		if r.Len() != 1 || r.List[0].Msg != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.src, r.List, tc.want)
		}
	}
}
