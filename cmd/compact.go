package cmd

import (
	"errors"
	"fmt"

	"github.com/parley-chat/parley/store"
)

// runCompact rewrites the database into a fresh file that holds only live
// data (store.CompactFile):
//
//	parley compact [--db FILE]
//
// bbolt reuses freed pages but never clears them, so text erased while the
// server ran (an admin's "Erase customer data" in the console) stays in the
// file until it is compacted; the file also shrinks to its data. It needs
// the server stopped.
func runCompact(args []string, stdio IO) int {
	fs := newFlagSet("parley compact", stdio)
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 0 {
		fmt.Fprintln(stdio.Stderr, "usage: parley compact [--db FILE]")
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stdio.Stderr, "parley compact: "+format+"\n", a...)
		return 1
	}
	if _, err := statDB(*dbPath); err != nil {
		return fail("%v", err)
	}
	before, after, err := store.CompactFile(*dbPath)
	switch {
	case errors.Is(err, store.ErrLocked):
		return fail("%s", inUse(*dbPath))
	case err != nil:
		return fail("%v", err)
	}
	fmt.Fprintf(stdio.Stdout, "compacted %s: %d -> %d bytes\n", *dbPath, before, after)
	return 0
}
