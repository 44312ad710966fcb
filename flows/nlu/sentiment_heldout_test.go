package nlu

import (
	"fmt"
	"os"
	"testing"
)

// The sentiment protocol (README.md, "Sentiment protocol"): lexicon, rules
// and the mixing constants were tuned on the even-numbered lines (1-based)
// of ru-sentirueval2015/train and en-tweeteval/val only; the odd-numbered
// lines, ru-rusentitweet and en-imdb-sentences are held out. splitLines
// keeps the lines of one parity (0: even, 1: odd, -1: all).
func splitLines(ex []Example, parity int) []Example {
	if parity < 0 {
		return ex
	}
	var out []Example
	for i, e := range ex {
		if (i+1)%2 == parity {
			out = append(out, e)
		}
	}
	return out
}

// heldOutSets are the sets and splits the README's sentiment table reports.
var heldOutSets = []struct {
	name, rel string
	parity    int
	tuned     bool
}{
	{"sentirueval even (tuned)", "sentiment/ru-sentirueval2015/train.jsonl", 0, true},
	{"tweeteval even (tuned)", "sentiment/en-tweeteval/val.jsonl", 0, true},
	{"sentirueval odd", "sentiment/ru-sentirueval2015/train.jsonl", 1, false},
	{"tweeteval odd", "sentiment/en-tweeteval/val.jsonl", 1, false},
	{"rusentitweet", "sentiment/ru-rusentitweet/train.jsonl", -1, false},
	{"imdb-sentences", "sentiment/en-imdb-sentences/all.jsonl", -1, false},
}

// TestSentimentHeldOut prints the protocol's figures; with
// PARLEY_SENTIMENT_DUMP=1 it also prints the mistakes on the tuning lines
// (never on the held-out ones). Run with -v; it only fails on bad data.
func TestSentimentHeldOut(t *testing.T) {
	if testing.Short() || os.Getenv("PARLEY_SENTIMENT_EVAL") == "" {
		t.Skip("set PARLEY_SENTIMENT_EVAL=1 to print the held-out sentiment figures")
	}
	s := NewScorer()
	for _, set := range heldOutSets {
		ex := splitLines(datasets(t, set.rel), set.parity)
		r, err := EvalSentiment(s, ex)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-26s n=%5d neg=%4d  P %.3f  R %.3f  F1 %.3f  acc %.3f", set.name, r.Test, r.Negatives,
			r.NegativePrecision, r.NegativeRecall, r.NegativeF1, r.Accuracy)
		if set.tuned && os.Getenv("PARLEY_SENTIMENT_DUMP") != "" {
			for _, e := range ex {
				g := s.Score(e.Text)
				if g.Negative != (e.Label == "negative") {
					fmt.Printf("%s\t%s\t%.2f\t%q\t%q\n", set.name[:5], e.Label, g.Score, e.Text, g.Evidence)
				}
			}
		}
	}
}
