package nlu

import (
	"fmt"
	"slices"
	"testing"
)

// An example added to one label leaves the folds of every other label as
// they were: a lead's edit of one FAQ entry must not move how the others
// are calibrated.
func TestHoldoutIsStablePerLabel(t *testing.T) {
	var ex []Example
	for _, l := range []string{"a", "b", "c", "d"} {
		for i := range 12 {
			ex = append(ex, Example{Text: fmt.Sprintf("%s example %d", l, i), Label: l})
		}
	}
	heldOf := func(ex []Example, label string) []string {
		var s []string
		for f, sp := range holdout(ex, 1, calibrationFolds) {
			for _, e := range sp.held {
				if e.Label == label {
					s = append(s, fmt.Sprint(f, ":", e.Text))
				}
			}
		}
		return s
	}
	before := map[string][]string{}
	for _, l := range []string{"b", "c", "d"} {
		before[l] = heldOf(ex, l)
		if len(before[l]) == 0 {
			t.Fatalf("label %s has nothing held out", l)
		}
	}
	// Three more examples for "a", at the front as a lead might add them.
	more := append([]Example{{"a new one", "a"}, {"a newer one", "a"}, {"a newest one", "a"}}, ex...)
	for _, l := range []string{"b", "c", "d"} {
		if got := heldOf(more, l); !slices.Equal(got, before[l]) {
			t.Errorf("label %s: held out %q before, %q after examples were added to a", l, before[l], got)
		}
	}
}

// A small set is calibrated on every example, each held out exactly once.
func TestHoldoutFoldsCoverEachExampleOnce(t *testing.T) {
	var ex []Example
	for _, l := range []string{"a", "b", "c"} {
		for i := range 7 {
			ex = append(ex, Example{Text: fmt.Sprintf("%s %d", l, i), Label: l})
		}
	}
	ex = append(ex, Example{"rare one", "rare"}, Example{"rare two", "rare"})
	held := map[string]int{}
	for _, sp := range holdout(ex, 7, calibrationFolds) {
		if len(sp.fit)+len(sp.held) != len(ex) {
			t.Fatalf("a fold has %d + %d examples, want %d", len(sp.fit), len(sp.held), len(ex))
		}
		for _, e := range sp.held {
			held[e.Text]++
		}
	}
	for _, e := range ex {
		want := 1
		if e.Label == "rare" {
			want = 0 // fewer than three examples: never held out
		}
		if held[e.Text] != want {
			t.Errorf("%q held out %d times, want %d", e.Text, held[e.Text], want)
		}
	}
}
