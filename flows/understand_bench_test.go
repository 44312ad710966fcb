package flows

import (
	"testing"

	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/flows/nlu"
)

// BenchmarkUnderstanding prices each part of a message's understanding on
// the typed texts of BenchmarkEngineTurn's mix, so its figure can be read
// as NLU calls plus the engine's own cost. In that mix of ten messages
// the classifier runs 3 times, the scorer and the person-request check 4
// times each (the two order-number messages skip them), normalize 10.
func BenchmarkUnderstanding(b *testing.B) {
	p, err := LoadFS(demo.FS())
	if err != nil {
		b.Fatal(err)
	}
	menu := []string{"хочу вернуть товар", "абракадабра", "когда работаете?"}
	typed := append([]string{"привет"}, menu...)
	run := func(name string, texts []string, f func(string)) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				f(texts[i%len(texts)])
				i++
			}
		})
	}
	run("classify", menu, func(s string) { p.understand.clf.Classify(s) })
	run("sentiment", typed, func(s string) { sharedScorer().Score(s) })
	run("human", typed, func(s string) { nlu.RequestsHuman(s) })
	run("normalize", typed, func(s string) { normalize(s) })
}
