package nlu

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// ReadJSONL reads the shared data set format: one JSON object a line with
// "text" and "label" (other keys are ignored). name is used in errors, which
// say the line: "train.jsonl:12: missing label".
func ReadJSONL(r io.Reader, name string) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		var row struct {
			Text  *string `json:"text"`
			Label *string `json:"label"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		switch {
		case row.Text == nil:
			return nil, fmt.Errorf("%s:%d: missing \"text\"", name, line)
		case row.Label == nil || *row.Label == "":
			return nil, fmt.Errorf("%s:%d: missing \"label\"", name, line)
		}
		out = append(out, Example{Text: *row.Text, Label: *row.Label})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples", name)
	}
	return out, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// IntentReport is what `parley nlu eval intents` prints.
type IntentReport struct {
	Train           int     `json:"train"`
	Test            int     `json:"test"`
	InScopeAccuracy float64 `json:"in_scope_accuracy"` // right label and not flagged out of scope
	OOSRecall       float64 `json:"oos_recall"`        // out-of-scope messages flagged
	OOSPrecision    float64 `json:"oos_precision"`     // flagged messages that were out of scope
	MacroF1         float64 `json:"macro_f1"`          // over all labels, out of scope as one label
	TrainSeconds    float64 `json:"train_seconds"`     // mean per fold under cross-validation
	P50us           float64 `json:"p50_us"`
	P99us           float64 `json:"p99_us"`
	Folds           int     `json:"folds,omitempty"`
}

// EvalIntents trains on train and measures on test.
func EvalIntents(train, test []Example, opts Options) (IntentReport, error) {
	r, _, err := evalIntents(train, test, opts)
	return r, err
}

func evalIntents(train, test []Example, opts Options) (IntentReport, []string, error) {
	start := time.Now()
	c, err := Train(train, opts)
	if err != nil {
		return IntentReport{}, nil, err
	}
	secs := time.Since(start).Seconds()
	preds := make([]string, len(test))
	lat := make([]time.Duration, len(test))
	for i, e := range test {
		t0 := time.Now()
		p := c.Classify(e.Text)
		lat[i] = time.Since(t0)
		preds[i] = p.Label
		if p.OOS {
			preds[i] = OOSLabel
		}
	}
	r := scoreIntents(test, preds)
	r.Train, r.TrainSeconds = len(train), secs
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50us = float64(lat[len(lat)/2].Nanoseconds()) / 1e3
		r.P99us = float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds()) / 1e3
	}
	return r, preds, nil
}

// CrossValidate runs stratified k-fold cross-validation on one file and
// pools the predictions of all folds into one report. Folds run one after
// the other so that latency is measured on an otherwise idle process.
func CrossValidate(examples []Example, k int, opts Options) (IntentReport, error) {
	reports := make([]IntentReport, k)
	errs := make([]error, k)
	preds := make([][]string, k)
	tests := make([][]Example, k)
	err := eachFold(examples, k, opts, func(f int, train, test []Example, _ []int) error {
		tests[f] = test
		reports[f], preds[f], errs[f] = evalIntents(train, test, opts)
		return nil
	})
	if err != nil {
		return IntentReport{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return IntentReport{}, err
	}
	var allTest []Example
	var allPreds []string
	var secs, p50, p99 float64
	for f := range k {
		allTest = append(allTest, tests[f]...)
		allPreds = append(allPreds, preds[f]...)
		secs += reports[f].TrainSeconds
		p50 += reports[f].P50us
		p99 = max(p99, reports[f].P99us)
	}
	r := scoreIntents(allTest, allPreds)
	r.Train = len(examples) - len(examples)/k
	r.TrainSeconds = secs / float64(k)
	r.P50us, r.P99us = p50/float64(k), p99
	r.Folds = k
	return r, nil
}

// CrossPredict labels every example with a classifier trained on the
// other folds of the same stratified k-fold split CrossValidate uses
// (OOSLabel when declined), so a caller can build its own report (the
// most confused pairs of `parley nlu eval project`).
func CrossPredict(examples []Example, k int, opts Options) ([]string, error) {
	preds := make([]string, len(examples))
	err := eachFold(examples, k, opts, func(f int, train, test []Example, at []int) error {
		_, p, err := evalIntents(train, test, opts)
		if err != nil {
			return fmt.Errorf("fold %d of %d: %w", f+1, k, err)
		}
		for j, i := range at {
			preds[i] = p[j]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return preds, nil
}

// eachFold splits examples into k stratified folds and calls fn for each
// fold in turn with the other folds to train on, the fold to test on and
// the test examples' indices in examples. It stops at the first error, and
// at the first empty fold.
func eachFold(examples []Example, k int, opts Options, fn func(f int, train, test []Example, at []int) error) error {
	if k < 2 {
		return fmt.Errorf("folds: need at least 2, got %d", k)
	}
	fold := stratifiedFolds(examples, k, opts.withDefaults().Seed)
	for f := range k {
		var train, test []Example
		var at []int
		for i, e := range examples {
			if fold[i] == f {
				test, at = append(test, e), append(at, i)
			} else {
				train = append(train, e)
			}
		}
		if len(test) == 0 {
			return fmt.Errorf("folds: %d folds for %d examples leave fold %d empty", k, len(examples), f+1)
		}
		if err := fn(f, train, test, at); err != nil {
			return err
		}
	}
	return nil
}

func stratifiedFolds(examples []Example, k int, seed uint64) []int {
	byLabel := map[string][]int{}
	var labels []string
	for i, e := range examples {
		if _, ok := byLabel[e.Label]; !ok {
			labels = append(labels, e.Label)
		}
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	rng := rand.New(rand.NewPCG(seed+7, seed^0x5851f42d4c957f2d))
	fold := make([]int, len(examples))
	next := 0
	for _, l := range labels {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}

// scoreIntents compares predicted labels (OOSLabel when flagged) to the truth.
func scoreIntents(test []Example, preds []string) IntentReport {
	r := IntentReport{Test: len(test)}
	var nIn, inOK, nOOS, oosOK, flagged int
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	labels := map[string]bool{}
	for i, e := range test {
		p := preds[i]
		labels[e.Label] = true
		if p == e.Label {
			tp[p]++
		} else {
			fp[p]++
			fn[e.Label]++
		}
		if p == OOSLabel {
			flagged++
		}
		if e.Label == OOSLabel {
			nOOS++
			if p == OOSLabel {
				oosOK++
			}
		} else {
			nIn++
			if p == e.Label {
				inOK++
			}
		}
	}
	r.InScopeAccuracy = ratio(inOK, nIn)
	r.OOSRecall = ratio(oosOK, nOOS)
	r.OOSPrecision = ratio(oosOK, flagged)
	names := make([]string, 0, len(labels))
	for l := range labels {
		names = append(names, l)
	}
	sort.Strings(names)
	var f1 float64
	for _, l := range names {
		p, rc := ratio(tp[l], tp[l]+fp[l]), ratio(tp[l], tp[l]+fn[l])
		if p+rc > 0 {
			f1 += 2 * p * rc / (p + rc)
		}
	}
	if len(names) > 0 {
		r.MacroF1 = f1 / float64(len(names))
	}
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
