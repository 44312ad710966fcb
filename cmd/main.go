// Package cmd owns the parley command line: subcommands, configuration
// (defaults -> file -> environment -> flags) and the wiring of the runtime,
// channels, handoff and store with an explicit start and stop order.
package cmd

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
)

// IO is what a subcommand reads and writes; tests substitute buffers.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// flags, when set, collects the flag sets a command defines (see
	// flagsOf).
	flags *[]*flag.FlagSet
}

// Main runs the parley command with os.Args and returns the exit code.
func Main() int {
	return Run(os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}

// runVersion prints the module version and the VCS revision the binary
// was built from, as Go records them.
func runVersion(args []string, stdio IO) int {
	if len(args) > 0 {
		fmt.Fprintln(stdio.Stderr, "usage: parley version")
		return 2
	}
	fmt.Fprintln(stdio.Stdout, versionLine())
	return 0
}

// versionLine is "parley VERSION [REVISION[+modified]] GOVERSION".
func versionLine() string {
	version, rev, modified, goVersion := "(devel)", "", false, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "parley " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += " " + rev
		if modified {
			line += "+modified"
		}
	}
	return line + " " + goVersion
}
