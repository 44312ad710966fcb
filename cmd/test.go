package cmd

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// runTest runs a project's conversation tests (tests/*.yaml), prints a
// readable diff for each failure and node coverage per flow.
func runTest(args []string, stdio IO) int {
	fset := flag.NewFlagSet("test", flag.ContinueOnError)
	fset.SetOutput(stdio.Stderr)
	run := fset.String("run", "", "run only tests whose name matches this regular expression")
	verbose := fset.Bool("v", false, "list passing tests too")
	fset.Usage = func() {
		fmt.Fprintln(stdio.Stderr, "usage: parley test DIR [--run REGEXP] [-v]")
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
	files, err := flowtest.Load(os.DirFS(dir))
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	rep := flowtest.Run(context.Background(), p, files, opts)
	if len(rep.Results) == 0 {
		fmt.Fprintf(stdio.Stderr, "parley test: no tests in %s/%s/*.yaml\n", dir, flows.TestsDir)
		return 1
	}
	rep.Write(stdio.Stdout, *verbose)
	if rep.Failed() > 0 {
		return 1
	}
	return 0
}
