package cmd

import (
	"reflect"
	"testing"

	"github.com/parley-chat/parley/flows/nlu"
)

func TestScoreProjectCountsConfusions(t *testing.T) {
	ex := []nlu.Example{
		{Text: "a1", Label: "a"}, {Text: "a2", Label: "a"}, {Text: "a3", Label: "a"},
		{Text: "b1", Label: "b"}, {Text: "b2", Label: "b"},
		{Text: "o1", Label: nlu.OOSLabel}, {Text: "o2", Label: nlu.OOSLabel},
	}
	preds := []string{"a", "b", "b", "b", nlu.OOSLabel, nlu.OOSLabel, "a"}
	var r projectEval
	scoreProject(&r, ex, preds)
	if r.InScope != 5 || r.InScopeRight != 2 || r.OutOfScope != 2 || r.OOSRight != 1 || r.Declined != 2 {
		t.Errorf("counts: %+v", r)
	}
	if r.InScopeAccuracy != 0.4 || r.OOSRecall != 0.5 || r.OOSPrecision != 0.5 {
		t.Errorf("figures: %v %v %v", r.InScopeAccuracy, r.OOSRecall, r.OOSPrecision)
	}
	want := []confusion{
		{Label: "a", TakenFor: "b", Count: 2, Example: "a2"},
		{Label: "b", TakenFor: "out_of_scope", Count: 1, Example: "b2"},
		{Label: "out_of_scope", TakenFor: "a", Count: 1, Example: "o2"},
	}
	if !reflect.DeepEqual(r.Confused, want) {
		t.Errorf("confused:\n got %+v\nwant %+v", r.Confused, want)
	}
}
