package eval

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows/syntax"
)

// fastCases are expressions of the forms flows are made of (the demo's
// among them), with whether the closures cover them.
var fastCases = []struct {
	src  string
	fast bool
}{
	{`payload == "human"`, true},
	{`norm in ["/start", "start", "меню", "menu"]`, true},
	{`norm in []`, true},
	{`flow != "complaint" && (norm contains "жал" && (norm contains "жалоб" || norm contains "жалую") || norm contains "претензи") && !(norm matches "(нет|никаких) жалоб|no complaints?( |$)")`, true},
	{`negative && flow != "complaint" && (sentiment <= -0.5 || !(text contains "?" || norm matches "^(как|где)( |$)"))`, true},
	{`human_requested`, true},
	{`fallbacks >= 3`, true},
	{`retries < 2 or not out_of_scope`, true},
	{`intent == "order_status" && intent_score >= 0.5 && !out_of_scope`, true},
	{`faq.id != "" && intent_score >= 0.7 && !out_of_scope`, true},
	{`intent_score >= 1`, true},
	{`intent_score > 0`, true},
	{`intent in ["greet", "help"] && intent_score >= 0.6`, true},
	{`faq.answer`, true},
	{`faq.title + "?"`, true},
	{`faq.score == intent_score`, true},
	{`contact.name != '' ? ', ' + contact.name : ''`, true},
	{`contact.fields.city`, true},
	{`contact.fields.missing == ""`, true},
	{`text startsWith "/" || text endsWith "!"`, true},
	{`lang == "ru" ? true : negative`, true},
	{`-fallbacks < -1`, true},
	{`-sentiment > 0.25`, true},
	{`response.status == 200 && response.ok`, true},
	{`vars.order`, true},
	{`vars.missing`, true},
	{`settings.orders_api`, true},
	{`channel == "vk" || node == "menu"`, true},
	{`payload == "yes" || norm in ["да", "ага", "yes"]`, true},

	// The VM's: values read out of vars, calls, optional chaining, mixed
	// types, maps, numbers made.
	{`vars.order_found`, true}, // as a value; as a condition it is the VM's
	{`fallbacks == 3.0 || retries != 1.5`, true},
	{`vars.n + 1`, false},
	{`vars.order != ""`, true},
	{`vars.n == "2" || "a" == vars.s || vars.missing != "x"`, true},
	{`vars.order_found == true`, false},
	{`vars.n > "a"`, false},
	{`response.body?.status ?? ""`, false},
	{`replace(trim(text), " ", "") matches "^[0-9]{6,10}$"`, true},
	{`replace(trim(text), " ", "")`, true},
	{`trim(norm, "х") + lower(text) + upper(text)`, true},
	{`replace(text, "a", "b", 1)`, false},
	{`trimPrefix(text)`, false},
	{`lower(vars.s)`, false},
	{`{'a': 'b'}[vars.s] ?? vars.s`, false},
	{`fallbacks + 1`, false},
	{`fallbacks >= 1.5`, true},
	{`fallbacks + 1.5`, false},
	{`now.Hour()`, false},
	{`len(text) > 3`, false},
	{`norm matches vars.s`, false},
	{`contact`, false},
	{`evidence`, false},
	{`lang == "ru" ? 1 : "x"`, false},

	// Extraction functions: those yielding a string with literal patterns
	// and bounds are closures; lists, built patterns and bad bounds the VM's.
	{`find(text, "(\\d+)")`, true},
	{`find(lower(text), "жал")`, true},
	{`digits(text, 6, 10) != ""`, true},
	{`email(text) + phone(norm)`, true},
	{`digits(text, 0, 10)`, false},
	{`find(text, vars.s)`, false},
	{`find_all(text, "\\d")`, false},
	{`numbers(text)`, false},
	{`find(vars.s, "a")`, false},
}

func fastEnvs() []*Env {
	return []*Env{
		{},
		{
			Text: "Хочу пожаловаться!", Norm: "хочу пожаловаться", Payload: "", Channel: "telegram",
			Lang: "ru", Flow: "main", Node: "menu", Fallbacks: 3, Retries: 1,
			Intent: "order_status", IntentScore: 0.5, OutOfScope: false, Sentiment: -0.5, Negative: true,
			HumanRequested: true, FAQ: FAQ{ID: "delivery", Title: "доставка", Answer: "Везём", Score: 0.5},
			Contact:  Contact{ID: "c1", Name: "Анна", Fields: map[string]string{"city": "Казань"}},
			Vars:     map[string]any{"order": "1234567", "order_found": true, "n": 2.0, "s": "a"},
			Settings: map[string]any{"orders_api": "https://x/api"},
			Response: Response{Status: 200, OK: true, Body: map[string]any{"status": "ready"}},
			Now:      time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
		},
		{
			Text: "нет жалоб, как дела?", Norm: "нет жалоб как дела", Payload: "yes", Channel: "vk",
			Lang: "en", Flow: "complaint", Node: "listen", Fallbacks: -2,
			Intent: "greet", IntentScore: 1, OutOfScope: true, Sentiment: math.NaN(),
			FAQ:      FAQ{Score: math.Inf(1)},
			Contact:  Contact{Name: ""},
			Vars:     map[string]any{"s": "zzz", "order_found": false},
			Response: Response{Status: 404},
		},
		{
			Text: "Где заказ 555-01-23? a@b.ru, 8 (912) 345-67-89", Norm: "где заказ 555 01 23 a b ru 8 912 345 67 89",
			Vars: map[string]any{"s": "(\\d+)"},
		},
	}
}

// TestFastMatchesVM holds the closures to the VM's results on each case.
func TestFastMatchesVM(t *testing.T) {
	for _, tc := range fastCases {
		r := &syntax.Reporter{}
		p := (&Compiler{R: r}).Value(&syntax.Str{Value: tc.src}, "x")
		if r.Len() > 0 {
			t.Fatalf("%s: %v", tc.src, r.List)
		}
		if got := p.fast != nil; got != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.src, got, tc.fast)
		}
		if p.fast == nil {
			continue
		}
		slow := *p
		slow.fast = nil
		for i, env := range fastEnvs() {
			want, werr := slow.Eval(NewVM(), env)
			got, gerr := p.Eval(nil, env)
			if fmt.Sprintf("%T %#v %v", got, got, gerr) != fmt.Sprintf("%T %#v %v", want, want, werr) {
				t.Errorf("%s, env %d: fast %T %#v (%v), VM %T %#v (%v)", tc.src, i, got, got, gerr, want, want, werr)
			}
		}
	}
}

// TestFastTemplate holds a template's text holes to the VM's rendering.
func TestFastTemplate(t *testing.T) {
	for _, src := range []string{
		"Здравствуйте{{ contact.name != '' ? ', ' + contact.name : '' }}! {{ faq.answer }} {{ vars.n }} {{ settings.orders_api }}/{{ vars.order }}",
		"{{ faq.answer }}",
		"{{ vars.order }}",
		"{{ vars.m.x }}!",
		"a{{ vars.s }}b{{ text }}c{{ norm }}d{{ payload }}e{{ flow }}f{{ node }}g{{ lang }}h{{ intent }}i{{ faq.id }}",
	} {
		r := &syntax.Reporter{}
		tm := (&Compiler{R: r}).Template(&syntax.Str{Value: src}, "x")
		if r.Len() > 0 {
			t.Fatal(r.List)
		}
		slow := &Template{Uses: tm.Uses}
		for _, p := range tm.parts {
			if p.prog != nil {
				q := *p.prog
				q.fast = nil
				p.prog = &q
			}
			slow.parts = append(slow.parts, p)
		}
		for i, env := range fastEnvs() {
			got, gerr := tm.Render(NewVM(), env)
			want, werr := slow.Render(NewVM(), env)
			if got != want || (gerr == nil) != (werr == nil) {
				t.Errorf("%s, env %d: fast %q (%v), VM %q (%v)", src, i, got, gerr, want, werr)
			}
		}
	}
}

// TestRenderSlotOnly renders a template that is one slot as nothing.
func TestRenderSlotOnly(t *testing.T) {
	r := &syntax.Reporter{}
	tm := (&Compiler{R: r}).TemplateSlots(&syntax.Str{Value: "{{ code }}"}, "x", "code")
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	if got, err := tm.Render(NewVM(), &Env{}); got != "" || err != nil {
		t.Errorf("got %q, %v", got, err)
	}
}

// TestFastCondition holds conditions that read a stored value to the VM,
// errors included.
func TestFastCondition(t *testing.T) {
	for _, src := range []string{"vars.order_found", "vars.s", "vars.missing", "settings.orders_api", "negative"} {
		r := &syntax.Reporter{}
		p := (&Compiler{R: r}).Cond(&syntax.Str{Value: src}, "x")
		if r.Len() > 0 {
			t.Fatalf("%s: %v", src, r.List)
		}
		if p.fast == nil {
			t.Fatalf("%s: no fast path", src)
		}
		slow := *p
		slow.fast = nil
		for i, env := range fastEnvs() {
			want, werr := slow.Bool(NewVM(), env)
			got, gerr := p.Bool(NewVM(), env)
			if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s, env %d: Bool fast %v (%v), VM %v (%v)", src, i, got, gerr, want, werr)
			}
			wv, werr := slow.Eval(NewVM(), env)
			gv, gerr := p.Eval(NewVM(), env)
			if fmt.Sprintf("%T %v", gv, gv) != fmt.Sprintf("%T %v", wv, wv) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s, env %d: Eval fast %T %v (%v), VM %T %v (%v)", src, i, gv, gv, gerr, wv, wv, werr)
			}
		}
	}
}

// randomExpr builds an expression of the forms the closures take, and
// some they leave to the VM, of roughly the given depth.
func randomExpr(r *rand.Rand, depth int) string {
	atoms := []string{
		"text", "norm", "payload", "flow", "lang", "intent", "faq.id", "faq.title", "contact.name",
		"contact.fields.city", "fallbacks", "retries", "intent_score", "sentiment", "faq.score",
		"response.status", "negative", "out_of_scope", "human_requested", "response.ok",
		`""`, `"a"`, `"Казань"`, "0", "1", "3", "-1", "0.5", "-0.5", "true", "false",
		"vars.s", "vars.n", "vars.order_found", "settings.orders_api", "nil",
	}
	if depth <= 0 || r.Intn(4) == 0 {
		return atoms[r.Intn(len(atoms))]
	}
	a, b := randomExpr(r, depth-1), randomExpr(r, depth-1)
	switch r.Intn(17) {
	case 0:
		return "!(" + a + ")"
	case 1:
		return "-(" + a + ")"
	case 2:
		return "(" + a + ") ? (" + b + ") : (" + randomExpr(r, depth-1) + ")"
	case 3:
		return "trim(" + a + ")"
	case 4:
		return "replace(" + a + `, "a", ` + b + ")"
	case 5:
		return "(" + a + `) in ["a", "", "Анна", "main"]`
	case 6:
		return "(" + a + `) matches "^[а-яa]+$"`
	case 7:
		return "find(" + a + `, "([а-яa]+)")`
	case 8:
		return "digits(" + a + ", 1, 4)"
	case 9:
		return "email(" + a + ") + phone(" + b + ")"
	}
	ops := []string{"==", "!=", "<", "<=", ">", ">=", "&&", "||", "+", "contains", "startsWith", "endsWith", "??", "and", "or"}
	return "(" + a + ") " + ops[r.Intn(len(ops))] + " (" + b + ")"
}

// TestFastRandom compares the closures with the VM on random expressions
// that compile.
func TestFastRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	compiled, fastN := 0, 0
	for range 8000 {
		src := randomExpr(r, 3)
		rep := &syntax.Reporter{}
		p := (&Compiler{R: rep}).Value(&syntax.Str{Value: src}, "x")
		if rep.Len() > 0 {
			continue
		}
		compiled++
		if p.fast == nil {
			continue
		}
		fastN++
		slow := *p
		slow.fast = nil
		for i, env := range fastEnvs() {
			want, werr := slow.Eval(NewVM(), env)
			got, gerr := p.Eval(nil, env)
			if fmt.Sprintf("%T %#v %v", got, got, gerr) != fmt.Sprintf("%T %#v %v", want, want, werr) {
				t.Fatalf("%s, env %d: fast %T %#v (%v), VM %T %#v (%v)", src, i, got, got, gerr, want, want, werr)
			}
		}
	}
	t.Logf("%d compiled, %d on closures", compiled, fastN)
	if fastN < 500 {
		t.Errorf("only %d of %d expressions on closures", fastN, compiled)
	}
}
