package eval_test

import (
	"testing"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// TestUses checks what the engine learns from an expression's tree about
// the costly parts of Env it reads.
func TestUses(t *testing.T) {
	const (
		in  = eval.UsesIntent
		txt = eval.UsesIntent | eval.UsesFAQText
		sen = eval.UsesSentiment
		hum = eval.UsesHuman
	)
	for _, tc := range []struct {
		src  string
		want eval.Uses
	}{
		{`norm contains "жалоб" && flow != "complaint"`, 0},
		{`payload == "yes" || vars.x == "faq"`, 0},
		{`intent == "order_status" && intent_score >= 0.5`, in},
		{`out_of_scope`, in},
		{`faq.id != "" && faq.score > 0.7`, in},
		{`faq["id"] == "delivery"`, in},
		{`faq.answer`, txt},
		{`faq?.title ?? ""`, txt},
		{`faq.id + ": " + faq.answer`, txt},
		{`toJSON(faq)`, txt},
		{`negative && sentiment <= -0.5`, sen},
		{`human_requested`, hum},
		{`len(evidence) > 0`, sen | hum},
		{`human_requested || negative && intent == "complaint"`, hum | sen | in},
		{`let f = faq; f.id`, txt}, // faq as a whole: its texts may be read
	} {
		r := &syntax.Reporter{}
		p := (&eval.Compiler{R: r}).Value(str(tc.src), "x")
		if r.Len() > 0 || p == nil {
			t.Fatalf("%s: %v", tc.src, r.List)
		}
		if p.Uses != tc.want {
			t.Errorf("%s: Uses = %04b, want %04b", tc.src, p.Uses, tc.want)
		}
	}
	// A template's uses are its holes'.
	r := &syntax.Reporter{}
	tm := (&eval.Compiler{R: r}).Template(str("{{ faq.title }}? {{ human_requested ? 'да' : '' }}"), "x")
	if r.Len() > 0 {
		t.Fatal(r.List)
	}
	if tm.Uses != txt|hum {
		t.Errorf("template: Uses = %04b, want %04b", tm.Uses, txt|hum)
	}
}
