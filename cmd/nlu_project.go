package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/nlu"
	"github.com/parley-chat/parley/flows/syntax"
)

// oosName is how out-of-scope examples are named in faq.yaml and in the
// report.
const oosName = "out_of_scope"

// projectEval is what `parley nlu eval project` reports.
type projectEval struct {
	File            string      `json:"file"`
	Folds           int         `json:"folds"`
	Examples        int         `json:"examples"`
	FAQ             int         `json:"faq_entries"`
	Intents         int         `json:"intents"`
	OutOfScope      int         `json:"out_of_scope_examples"`
	InScope         int         `json:"in_scope_examples"`
	InScopeRight    int         `json:"in_scope_right"`
	InScopeAccuracy float64     `json:"in_scope_accuracy"` // right label, not declined
	OOSRight        int         `json:"out_of_scope_declined"`
	OOSRecall       float64     `json:"out_of_scope_recall"`    // out-of-scope examples declined
	Declined        int         `json:"declined"`               // messages declined, in scope or not
	OOSPrecision    float64     `json:"out_of_scope_precision"` // declined messages that were out of scope
	Confused        []confusion `json:"confused"`
}

// confusion is one kind of mistake: examples of Label taken for TakenFor.
type confusion struct {
	Label    string `json:"label"`
	TakenFor string `json:"taken_for"`
	Count    int    `json:"count"`
	Example  string `json:"example"`
}

// maxConfused bounds the pairs printed (JSON has them all).
const maxConfused = 10

// runNLUProject cross-validates the classifier on a project's own
// knowledge base: every FAQ question, intent example and out_of_scope
// example is classified by a model trained on the other folds.
func runNLUProject(args []string, stdio IO) int {
	fs := nluFlags("project", stdio)
	folds := fs.Int("folds", 5, "number of folds, at least 2")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	switch {
	case len(pos) != 1:
		fmt.Fprintln(stdio.Stderr, "usage: parley nlu eval project DIR [--folds K] [--json]")
		return 2
	case *folds < 2:
		fmt.Fprintf(stdio.Stderr, "parley nlu eval project: --folds %d: want at least 2\n", *folds)
		return 2
	}
	r, err := evalProject(pos[0], *folds)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley nlu eval project: %v\n", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdio, r)
	}
	w := stdio.Stdout
	fmt.Fprintf(w, "%d-fold cross-validation on %s: %d examples (%d FAQ entries, %d intents, %d out of scope)\n",
		r.Folds, r.File, r.Examples, r.FAQ, r.Intents, r.OutOfScope)
	fmt.Fprintf(w, "in-scope accuracy       %6.2f%%  (%d of %d answered with the right entry or intent)\n", 100*r.InScopeAccuracy, r.InScopeRight, r.InScope)
	fmt.Fprintf(w, "out-of-scope recall     %6.2f%%  (%d of %d out-of-scope examples declined)\n", 100*r.OOSRecall, r.OOSRight, r.OutOfScope)
	fmt.Fprintf(w, "out-of-scope precision  %6.2f%%  (%d of %d declined messages were out of scope)\n", 100*r.OOSPrecision, r.OOSRight, r.Declined)
	if len(r.Confused) == 0 {
		fmt.Fprintln(w, "no example was taken for another label")
		return 0
	}
	fmt.Fprintln(w, "most confused (label taken for another, times, an example):")
	for i, c := range r.Confused {
		if i == maxConfused {
			fmt.Fprintf(w, "  ... %d more pairs (--json lists them all)\n", len(r.Confused)-maxConfused)
			break
		}
		fmt.Fprintf(w, "  %s taken for %s  %d×  e.g. %q\n", c.Label, c.TakenFor, c.Count, c.Example)
	}
	return 0
}

// evalProject loads the project in dir (so a broken one is reported as
// lint would) and cross-validates on its faq.yaml.
func evalProject(dir string, k int) (projectEval, error) {
	if _, err := loadProject(dir); err != nil {
		return projectEval{}, err
	}
	path := filepath.Join(dir, flows.FAQFile)
	src, err := os.ReadFile(path)
	if err != nil {
		return projectEval{}, fmt.Errorf("the project has no knowledge base to measure: %w", err)
	}
	var rep syntax.Reporter
	rep.AddSource(flows.FAQFile, src)
	q := syntax.ParseFAQ(&rep, flows.FAQFile, src)
	if err := rep.Err(); err != nil {
		return projectEval{}, err
	}
	examples, opts := faqExamples(q)
	r := projectEval{File: path, Folds: k, Examples: len(examples), FAQ: len(q.Entries), Intents: len(q.Intents)}
	if len(examples) < k {
		return r, fmt.Errorf("--folds %d: the knowledge base has only %d examples", k, len(examples))
	}
	preds, err := nlu.CrossPredict(examples, k, opts)
	if err != nil {
		return r, err
	}
	scoreProject(&r, examples, preds)
	return r, nil
}

// faqExamples are the classifier's training examples as the flow compiler
// builds them: FAQ questions and intent examples labelled with their id,
// out_of_scope ones with nlu.OOSLabel, languages in a stable order; and
// the synonyms.
func faqExamples(q *syntax.FAQ) ([]nlu.Example, nlu.Options) {
	var out []nlu.Example
	add := func(ex *syntax.Examples, label string) {
		if ex == nil {
			return
		}
		langs := make([]string, 0, len(ex.Langs))
		for l := range ex.Langs {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		for _, l := range langs {
			for _, s := range ex.Langs[l] {
				out = append(out, nlu.Example{Text: s.Value, Label: label})
			}
		}
	}
	for _, e := range q.Entries {
		if e.ID != nil {
			add(e.Questions, e.ID.Value)
		}
	}
	for _, in := range q.Intents {
		if in.ID != nil {
			add(in.Examples, in.ID.Value)
		}
	}
	add(q.OutOfScope, nlu.OOSLabel)
	var opts nlu.Options
	for _, group := range q.Synonyms {
		if len(group) < 2 {
			continue
		}
		if opts.Synonyms == nil {
			opts.Synonyms = map[string][]string{}
		}
		for _, v := range group[1:] {
			opts.Synonyms[group[0].Value] = append(opts.Synonyms[group[0].Value], v.Value)
		}
	}
	return out, opts
}

// scoreProject fills r's figures and confused pairs (most frequent first,
// then by name) from the predictions.
func scoreProject(r *projectEval, examples []nlu.Example, preds []string) {
	type pair struct{ label, got string }
	pairs := map[pair]*confusion{}
	name := func(l string) string {
		if l == nlu.OOSLabel {
			return oosName
		}
		return l
	}
	for i, e := range examples {
		got := preds[i]
		if got == nlu.OOSLabel {
			r.Declined++
		}
		if e.Label == nlu.OOSLabel {
			r.OutOfScope++
			if got == nlu.OOSLabel {
				r.OOSRight++
			}
		} else {
			r.InScope++
			if got == e.Label {
				r.InScopeRight++
			}
		}
		if got == e.Label {
			continue
		}
		pk := pair{e.Label, got}
		c := pairs[pk]
		if c == nil {
			c = &confusion{Label: name(e.Label), TakenFor: name(got), Example: e.Text}
			pairs[pk] = c
		}
		c.Count++
	}
	r.InScopeAccuracy = ratioOf(r.InScopeRight, r.InScope)
	r.OOSRecall = ratioOf(r.OOSRight, r.OutOfScope)
	r.OOSPrecision = ratioOf(r.OOSRight, r.Declined)
	r.Confused = make([]confusion, 0, len(pairs))
	for _, c := range pairs {
		r.Confused = append(r.Confused, *c)
	}
	slices.SortFunc(r.Confused, func(a, b confusion) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Label+"\x00"+a.TakenFor, b.Label+"\x00"+b.TakenFor)
	})
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
