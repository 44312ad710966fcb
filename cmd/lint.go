package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// runLint checks a project: every flow, the knowledge base and the
// conversation tests, printing every problem with its position. With --db
// it also lists stored sessions the new version would move.
func runLint(args []string, stdio IO) int {
	fset := newFlagSet("lint", stdio)
	dbPath := fset.String("db", "", "also check the sessions stored in this database file")
	fset.Usage = func() {
		fmt.Fprintln(stdio.Stderr, "usage: parley lint DIR [--db FILE]")
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
	p, err := flows.LoadDir(dir)
	if problems := lintProject(os.DirFS(dir), p, err); len(problems) > 0 {
		fmt.Fprintln(stdio.Stderr, problems.Error())
		fmt.Fprintf(stdio.Stderr, "%d problem%s\n", len(problems), plural(len(problems)))
		return 1
	}
	// Warnings do not fail lint: the project runs (a missing translation
	// says the default language's text). They go to stderr like problems.
	for _, w := range p.Warnings {
		fmt.Fprintln(stdio.Stderr, warningText(w))
	}
	if n := len(p.Warnings); n > 0 {
		fmt.Fprintf(stdio.Stderr, "%d warning%s\n", n, plural(n))
	}
	nodes := 0
	for _, f := range p.FlowNames() {
		nodes += len(p.NodeIDs(f))
	}
	if *dbPath != "" {
		moved, total, err := lintSessions(p, *dbPath, stdio)
		if err != nil {
			// openStoreFor's errors already say "parley lint: ".
			fmt.Fprintf(stdio.Stderr, "parley lint: %s\n", strings.TrimPrefix(err.Error(), "parley lint: "))
			return 1
		}
		if moved > 0 {
			fmt.Fprintf(stdio.Stderr, "%d of %d stored session%s would move\n", moved, total, plural(total))
			return 1
		}
		fmt.Fprintf(stdio.Stdout, "%s: all %d stored session%s continue in this version\n", *dbPath, total, plural(total))
	}
	fmt.Fprintf(stdio.Stdout, "ok: %s: %d flows, %d nodes, version %s\n", p.Name, len(p.FlowNames()), nodes, p.Version)
	return 0
}

// lintProject is the check of `parley lint` (and of a change from the
// misses inbox): the project p, loaded from fsys with error err, compiles,
// and its conversation tests load and name what exists. The problems come
// sorted.
func lintProject(fsys fs.FS, p *flows.Project, err error) flows.ErrorList {
	var problems flows.ErrorList
	if err != nil {
		problems = append(problems, asList(err)...)
	}
	_, suites, err := flowtest.LoadAll(fsys)
	if err != nil {
		problems = append(problems, asList(err)...)
	}
	if p != nil {
		if err := flowtest.CheckSuites(p, suites); err != nil {
			problems = append(problems, asList(err)...)
		}
	}
	problems.Sort()
	return problems
}

// lintSessions reports sessions waiting at nodes this version removes.
func lintSessions(p *flows.Project, path string, stdio IO) (moved, total int, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("--db %s: %w", path, errors.Unwrap(err))
	}
	db, err := openStoreFor("lint", path, true)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	err = db.Sessions(func(contactID string, raw []byte) error {
		total++
		st, err := flows.UnmarshalState(raw)
		if err != nil {
			moved++
			fmt.Fprintf(stdio.Stderr, "%s: session %s: unreadable state: %v\n", path, contactID, err)
			return nil
		}
		if ok, msg := p.CheckState(st); !ok {
			moved++
			fmt.Fprintf(stdio.Stderr, "%s: session %s %s\n", path, contactID, msg)
		}
		return nil
	})
	return moved, total, err
}

// warningText is a warning as a problem is shown, its message marked
// "warning: ".
func warningText(w *flows.Error) string {
	c := *w
	c.Msg = "warning: " + c.Msg
	return c.Error()
}

func asList(err error) flows.ErrorList {
	var l flows.ErrorList
	if errors.As(err, &l) {
		return l
	}
	return flows.ErrorList{{Msg: err.Error()}}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
