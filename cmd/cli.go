package cmd

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// The command tree is cobra's: help for every command (with examples),
// `help COMMAND`, suggestions for a mistyped command, --version and shell
// completion, the way kubectl, gh and hugo behave. Each command still
// parses its own flags with the standard flag package through
// parseInterspersed (flags in any position, its own messages and exit
// codes), so cobra's flag parsing is off for them; the flags a command
// defines are shown in its help and completed by the shell all the same.

// spec describes one command of the tree.
type spec struct {
	use     string // name and arguments: "chat [DIR]"
	short   string // one line for the command list
	long    string // what it does, for its help
	example string // shell lines, indented by two spaces
	run     func(args []string, stdio IO) int
	sub     []spec
	// values completes a flag's value: flag name -> choices.
	values map[string][]string
}

// subOf runs a command of a group ("agents add", "nlu eval intents") with
// its names in front of the arguments, as the group's function dispatches
// them.
func subOf(run func([]string, IO) int, names ...string) func([]string, IO) int {
	return func(args []string, stdio IO) int {
		return run(append(append([]string(nil), names...), args...), stdio)
	}
}

// newFlagSet is how every command makes its flags: errors go to stderr,
// and the set is recorded when the command tree asks for it (help and
// completion show the flags a command really defines).
func newFlagSet(name string, stdio IO) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.Stderr)
	// After a flag error, point at the help instead of dumping every flag.
	fs.Usage = func() {
		fmt.Fprintf(stdio.Stderr, "Run 'parley %s --help' for usage.\n", strings.TrimPrefix(name, "parley "))
	}
	if stdio.flags != nil {
		*stdio.flags = append(*stdio.flags, fs)
	}
	return fs
}

// flagsOf runs a command with --help only to collect the flag sets it
// defines; every command parses its flags before it does anything, and
// --help stops it there.
func flagsOf(run func([]string, IO) int) []*flag.FlagSet {
	var sets []*flag.FlagSet
	run([]string{"--help"}, IO{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, flags: &sets})
	return sets
}

// Run runs one command line; exit code 2 means bad usage, 1 a failure.
func Run(args []string, stdio IO) int {
	if len(args) == 0 {
		rootUsage(stdio.Stderr)
		return 2
	}
	t := newTree(stdio)
	if strings.HasPrefix(args[0], cobra.ShellCompRequestCmd) {
		t.describeFlags(t.root) // the shell completes flag names too
	}
	t.root.SetArgs(args)
	if _, err := t.root.ExecuteC(); err != nil {
		fmt.Fprintf(stdio.Stderr, "parley: %s\n", strings.TrimRight(err.Error(), "\n"))
		fmt.Fprintln(stdio.Stderr, "Run 'parley --help' for the commands.")
		return 2
	}
	return t.code
}

// rootUsage lists the commands, for a bare `parley`.
func rootUsage(w io.Writer) {
	root := newTree(IO{Stdout: w, Stderr: w}).root
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.InitDefaultVersionFlag()
	root.Usage()
}

// tree is the command tree of one run.
type tree struct {
	root  *cobra.Command
	stdio IO
	code  int // the exit code of the command that ran
	runs  map[*cobra.Command]func([]string, IO) int
}

func newTree(stdio IO) *tree {
	t := &tree{stdio: stdio, runs: map[*cobra.Command]func([]string, IO) int{}}
	root := &cobra.Command{
		Use:   "parley",
		Short: "a chatbot platform for customer support",
		Long: "parley runs support bots written as YAML flows on Telegram, VK and a web chat,\n" +
			"hands conversations to human agents, and checks and measures projects offline.",
		Example: "  parley init shop && parley lint shop && parley test shop\n" +
			"  parley chat shop\n" +
			"  parley serve shop --addr :8080 --demo-agent",
		Version:           versionLine(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetOut(stdio.Stdout)
	root.SetErr(stdio.Stderr)
	root.SetIn(stdio.Stdin)
	for _, s := range commandSpecs() {
		root.AddCommand(t.build(s))
	}
	t.root = root
	return t
}

// build makes the cobra command of s and its subcommands.
func (t *tree) build(s spec) *cobra.Command {
	c := &cobra.Command{
		Use:                s.use,
		Short:              s.short,
		Long:               s.long,
		Example:            s.example,
		DisableFlagParsing: true,
	}
	if c.Long == "" {
		c.Long = s.short
	}
	if s.run != nil {
		run := s.run
		c.RunE = func(c *cobra.Command, args []string) error {
			if asksHelp(args) {
				t.describeFlags(c)
				t.code = 0
				return c.Help()
			}
			t.code = run(args, t.stdio)
			return nil
		}
		c.ValidArgsFunction = completeArgs(s)
	}
	for _, sub := range s.sub {
		c.AddCommand(t.build(sub))
	}
	t.runs[c] = s.run
	return c
}

// describeFlags gives c and the commands under it the flags their
// functions define, for help and completion (once: it takes c's entry).
func (t *tree) describeFlags(c *cobra.Command) {
	if run := t.runs[c]; run != nil && !c.HasSubCommands() {
		for _, fs := range flagsOf(run) {
			c.Flags().AddGoFlagSet(fs)
		}
	}
	delete(t.runs, c)
	for _, sub := range c.Commands() {
		t.describeFlags(sub)
	}
}

// completeArgs completes what a command with its own flag parsing takes:
// flag names, the choices of a flag with a fixed set of values, files
// otherwise.
func completeArgs(s spec) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			prev := strings.TrimLeft(args[len(args)-1], "-")
			if choices, ok := s.values[prev]; ok && strings.HasPrefix(args[len(args)-1], "-") {
				var out []cobra.Completion
				for _, v := range choices {
					if strings.HasPrefix(v, toComplete) {
						out = append(out, v)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
		}
		if strings.HasPrefix(toComplete, "-") {
			return nil, cobra.ShellCompDirectiveNoFileComp // cobra lists the flags
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
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
