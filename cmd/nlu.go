package cmd

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/parley-chat/parley/flows/nlu"
)

const nluUsage = `usage:
  parley nlu eval intents --train FILE (--test FILE | --folds K) [--json]
  parley nlu eval sentiment --test FILE [--json]
  parley nlu eval project DIR [--folds K] [--json]
FILE is JSON Lines, one {"text": ..., "label": ...} a line; label "oos" marks
an out-of-scope message, sentiment labels are negative, neutral, positive.`

// runNLU measures the understanding library on a data set; see flows/nlu.
func runNLU(args []string, stdio IO) int {
	if len(args) < 2 || args[0] != "eval" {
		fmt.Fprintln(stdio.Stderr, nluUsage)
		return 2
	}
	switch args[1] {
	case "intents":
		return runNLUIntents(args[2:], stdio)
	case "sentiment":
		return runNLUSentiment(args[2:], stdio)
	case "project":
		return runNLUProject(args[2:], stdio)
	}
	fmt.Fprintf(stdio.Stderr, "parley nlu eval: unknown task %q (want intents, sentiment or project)\n%s\n", args[1], nluUsage)
	return 2
}

func nluFlags(name string, stdio IO) *flag.FlagSet {
	fs := newFlagSet("parley nlu eval "+name, stdio)
	fs.Usage = func() { fmt.Fprintln(stdio.Stderr, nluUsage) }
	return fs
}

func runNLUIntents(args []string, stdio IO) int {
	fs := nluFlags("intents", stdio)
	train := fs.String("train", "", "JSONL file to train on")
	test := fs.String("test", "", "JSONL file to measure on")
	folds := fs.Int("folds", 0, "cross-validate on --train with K folds instead of --test")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stdio.Stderr, "parley nlu eval intents: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *train == "":
		fmt.Fprintln(stdio.Stderr, "parley nlu eval intents: --train is required")
		return 2
	case (*test == "") == (*folds == 0):
		fmt.Fprintln(stdio.Stderr, "parley nlu eval intents: give exactly one of --test FILE or --folds K")
		return 2
	}
	trainSet, err := readExamples(*train)
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley nlu eval intents: %v\n", err)
		return 1
	}
	var r nlu.IntentReport
	if *folds != 0 {
		r, err = nlu.CrossValidate(trainSet, *folds, nlu.Options{})
	} else {
		var testSet []nlu.Example
		if testSet, err = readExamples(*test); err == nil {
			r, err = nlu.EvalIntents(trainSet, testSet, nlu.Options{})
		}
	}
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley nlu eval intents: %v\n", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdio, r)
	}
	w := stdio.Stdout
	if r.Folds > 0 {
		fmt.Fprintf(w, "%d-fold cross-validation on %s (%d examples)\n", r.Folds, *train, r.Test)
	} else {
		fmt.Fprintf(w, "trained on %s (%d), tested on %s (%d)\n", *train, r.Train, *test, r.Test)
	}
	fmt.Fprintf(w, "in-scope accuracy  %6.2f%%\n", 100*r.InScopeAccuracy)
	fmt.Fprintf(w, "oos recall         %6.2f%%\n", 100*r.OOSRecall)
	fmt.Fprintf(w, "oos precision      %6.2f%%\n", 100*r.OOSPrecision)
	fmt.Fprintf(w, "macro F1           %6.4f\n", r.MacroF1)
	fmt.Fprintf(w, "training time      %6.2f s\n", r.TrainSeconds)
	fmt.Fprintf(w, "latency p50 / p99  %.0f / %.0f µs\n", r.P50us, r.P99us)
	return 0
}

func runNLUSentiment(args []string, stdio IO) int {
	fs := nluFlags("sentiment", stdio)
	test := fs.String("test", "", "JSONL file to measure on")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stdio.Stderr, "parley nlu eval sentiment: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *test == "":
		fmt.Fprintln(stdio.Stderr, "parley nlu eval sentiment: --test is required")
		return 2
	}
	set, err := readExamples(*test)
	if err == nil {
		var r nlu.SentimentReport
		if r, err = nlu.EvalSentiment(nlu.NewScorer(), set); err == nil {
			if *asJSON {
				return printJSON(stdio, r)
			}
			w := stdio.Stdout
			fmt.Fprintf(w, "scored %s (%d messages, %d negative)\n", *test, r.Test, r.Negatives)
			fmt.Fprintf(w, "negative precision %6.2f%%\n", 100*r.NegativePrecision)
			fmt.Fprintf(w, "negative recall    %6.2f%%\n", 100*r.NegativeRecall)
			fmt.Fprintf(w, "negative F1        %6.4f\n", r.NegativeF1)
			fmt.Fprintf(w, "accuracy           %6.2f%%\n", 100*r.Accuracy)
			return 0
		}
	}
	fmt.Fprintf(stdio.Stderr, "parley nlu eval sentiment: %v\n", err)
	return 1
}

func readExamples(path string) ([]nlu.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return nlu.ReadJSONL(f, path)
}

func printJSON(stdio IO, v any) int {
	enc := json.NewEncoder(stdio.Stdout)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley nlu: %v\n", err)
		return 1
	}
	return 0
}
