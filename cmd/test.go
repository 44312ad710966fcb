package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// runTest runs a project's conversation tests (tests/*.yaml), prints a
// readable diff for each failure and node coverage per flow, then runs its
// suites (tests/*.yaml and tests/suite/*.yaml with `suite:`) and prints
// their figures. It fails when a test fails or a suite misses a figure it
// requires.
func runTest(args []string, stdio IO) int {
	fset := newFlagSet("test", stdio)
	run := fset.String("run", "", "run only tests and suites whose name matches this regular expression")
	verbose := fset.Bool("v", false, "list passing tests too")
	asJSON := fset.Bool("json", false, "print the results and figures as one JSON object")
	fset.Usage = func() {
		fmt.Fprintln(stdio.Stderr, "usage: parley test DIR [--run REGEXP] [-v] [--json]")
		fset.PrintDefaults()
	}
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fset.Usage()
		return 2
	}
	dir := pos[0]
	opts := flowtest.Options{}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintf(stdio.Stderr, "parley test: --run: %v\n", err)
			return 2
		}
		opts.Run = re
	}
	p, err := flows.LoadDir(dir)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	// Flows read the project's business hours as the server gives them.
	if hc, _, err := projectHandoffConfig(defaultConfig().Handoff, p); err == nil {
		opts.Hours = hc.Hours.At
	}
	files, suites, err := flowtest.LoadAll(os.DirFS(dir))
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	if err := flowtest.CheckSuites(p, suites); err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	ctx := context.Background()
	rep := flowtest.Run(ctx, p, files, opts)
	var reports []*flowtest.SuiteReport
	for _, s := range suites {
		if opts.Run != nil && (s.Name == nil || !opts.Run.MatchString(s.Name.Value)) {
			continue
		}
		reports = append(reports, flowtest.RunSuite(ctx, p, s, opts))
	}
	if len(rep.Results) == 0 && len(reports) == 0 {
		fmt.Fprintf(stdio.Stderr, "parley test: no tests in %s/%s/*.yaml or %s/%s/*.yaml\n", dir, flows.TestsDir, dir, flowtest.SuiteDir)
		return 1
	}
	ok := rep.Failed() == 0
	for _, r := range reports {
		ok = ok && r.OK()
	}
	if *asJSON {
		if err := writeTestJSON(stdio, rep, reports, ok); err != nil {
			fmt.Fprintf(stdio.Stderr, "parley test: %v\n", err)
			return 1
		}
	} else {
		if len(rep.Results) > 0 {
			rep.Write(stdio.Stdout, *verbose)
		}
		for _, r := range reports {
			r.Write(stdio.Stdout)
		}
	}
	if !ok {
		return 1
	}
	return 0
}

// testJSON is `parley test --json`: the conversation tests, the coverage
// and every suite's figures.
type testJSON struct {
	OK       bool                    `json:"ok"`
	Tests    int                     `json:"tests"`
	Failed   int                     `json:"failed"`
	Failures []testFailureJSON       `json:"failures,omitempty"`
	Coverage []flowtest.Coverage     `json:"coverage,omitempty"`
	Suites   []*flowtest.SuiteReport `json:"suites,omitempty"`
}

type testFailureJSON struct {
	Name    string `json:"name"`
	Pos     string `json:"pos"`
	Failure string `json:"failure"`
}

func writeTestJSON(stdio IO, rep *flowtest.Report, suites []*flowtest.SuiteReport, ok bool) error {
	out := testJSON{OK: ok, Tests: len(rep.Results), Failed: rep.Failed(), Coverage: rep.Coverage, Suites: suites}
	for _, r := range rep.Results {
		if r.Failed {
			out.Failures = append(out.Failures, testFailureJSON{Name: r.Name, Pos: r.Pos.String(), Failure: r.Failure})
		}
	}
	enc := json.NewEncoder(stdio.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
