// Package cmd owns the parley command line: subcommands, configuration
// (defaults -> file -> environment -> flags) and the wiring of the runtime,
// channels, handoff and store with an explicit start and stop order.
package cmd

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
)

// IO is what a subcommand reads and writes; tests substitute buffers.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	usage string
	run   func(args []string, stdio IO) int
}

// commands is the closed set of subcommands; each lives in its own file.
var commands = map[string]command{
	"init":     {"init DIR                  write the demo project into DIR", runInit},
	"lint":     {"lint DIR [--db FILE]      check a project; with --db also stored sessions", runLint},
	"test":     {"test DIR                  run the project's conversation tests", runTest},
	"chat":     {"chat DIR [--db FILE] [--channel web|telegram|vk] [--as CONTACT] [--json]", runChat},
	"serve":    {"serve [DIR]               run the bot on every configured channel", runServe},
	"backup":   {"backup FILE [--db FILE]   consistent copy of a database no server holds (running server: GET /api/admin/backup)", runBackup},
	"nlu":      {"nlu eval intents|sentiment ...  measure understanding on a data set", runNLU},
	"agents":   {"agents add NAME --role agent|lead|admin", runAgents},
	"tickets":  {"tickets list [--status S] [--json] [--db FILE]", runTickets},
	"stats":    {"stats [--from DATE] [--to DATE] [--json] [--db FILE]  analytics of a period", runStats},
	"contacts": {"contacts export|forget ID [--db FILE]  a customer's data: all of it as JSON, or erase it", runContacts},
	"compact":  {"compact [--db FILE]        rewrite the database without free pages (after an erasure in the console)", runCompact},
	"version":  {"version                   print the version and build of this binary", runVersion},
}

// Main runs the parley command with os.Args and returns the exit code.
func Main() int {
	return Run(os.Args[1:], IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}

// Run runs one subcommand; exit code 2 means bad usage.
func Run(args []string, stdio IO) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdio.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(nil, stdio)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stdio.Stderr, "parley: unknown command %q\n", args[0])
		usage(stdio.Stderr)
		return 2
	}
	code := c.run(args[1:], stdio)
	if code == 2 && asksHelp(args[1:]) {
		return 0 // the usage printed is what was asked for
	}
	return code
}

// asksHelp reports whether args hold -h or --help before any "--".
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// runVersion prints the module version and the VCS revision the binary
// was built from, as Go records them.
func runVersion(args []string, stdio IO) int {
	if len(args) > 0 {
		fmt.Fprintln(stdio.Stderr, "usage: parley version")
		return 2
	}
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
	fmt.Fprintln(stdio.Stdout, line+" "+goVersion)
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: parley COMMAND [ARGS]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(w, "  parley "+commands[n].usage)
	}
}

func notYet(name string, stdio IO) int {
	fmt.Fprintf(stdio.Stderr, "parley %s: not available in this build yet\n", name)
	return 1
}
