package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// runAgents manages agent console accounts:
//
//	parley agents add NAME --role agent|lead|admin [--display NAME] [--password-stdin] [--reset] [--db FILE]
//	parley agents list [--json] [--db FILE]
//
// A generated password is one-time: the console makes the agent choose
// their own at the first sign-in. One from --password-stdin is the
// operator's choice and stays valid.
func runAgents(args []string, stdio IO) int {
	if len(args) == 0 {
		fmt.Fprintln(stdio.Stderr, "usage: parley agents add NAME --role agent|lead|admin [--display NAME] [--password-stdin] [--reset] [--db FILE]")
		fmt.Fprintln(stdio.Stderr, "       parley agents list [--json] [--db FILE]")
		return 2
	}
	switch args[0] {
	case "add":
		return agentsAdd(args[1:], stdio)
	case "list":
		return agentsList(args[1:], stdio)
	}
	fmt.Fprintf(stdio.Stderr, "parley agents: unknown subcommand %q (want add or list)\n", args[0])
	return 2
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("add anna --role lead" and "add --role lead anna").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// dbFlag registers --db with the PARLEY_DB environment variable and
// ./data/parley.db as defaults.
func dbFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("PARLEY_DB")
	if def == "" {
		def = "./data/parley.db"
	}
	return fs.String("db", def, "database file (default $PARLEY_DB or ./data/parley.db)")
}

// statDB checks that path names a database file, with the messages the
// commands that read one offline share.
func statDB(path string) (os.FileInfo, error) {
	si, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("no database at %s (set --db or PARLEY_DB)", path)
	case err != nil:
		return nil, err
	case si.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a database file", path)
	}
	return si, nil
}

// inUse is what every command says when a running server holds the
// database file (store.ErrLocked).
func inUse(path string) string {
	return path + " is in use by a running parley server; stop it first"
}

// openStoreFor opens the database for an operator command, explaining the
// usual failure: a running server holds the file lock.
func openStoreFor(cmd, path string, readOnly bool) (*store.DB, error) {
	db, err := store.Open(path, store.Options{ReadOnly: readOnly})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("parley %s: %s", cmd, inUse(path))
	}
	if err != nil {
		return nil, fmt.Errorf("parley %s: %w", cmd, err)
	}
	return db, nil
}

func agentsAdd(args []string, stdio IO) int {
	fs := newFlagSet("parley agents add", stdio)
	role := fs.String("role", "", "agent, lead or admin (required)")
	display := fs.String("display", "", "name the customers see (default: NAME)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating a one-time one")
	reset := fs.Bool("reset", false, "set a new password (and role) for an existing agent; generated ones are one-time")
	dbPath := dbFlag(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || *role == "" {
		fmt.Fprintln(stdio.Stderr, "usage: parley agents add NAME --role agent|lead|admin [--display NAME] [--password-stdin] [--reset] [--db FILE]")
		return 2
	}
	password := ""
	if *fromStdin {
		line, err := bufio.NewReader(stdio.Stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stdio.Stderr, "parley agents add: read password from stdin: %v\n", err)
			return 1
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		password = handoff.GeneratePassword()
	}
	db, err := openStoreFor("agents add", *dbPath, false)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	a, err := handoff.AddAgent(context.Background(), db, handoff.NewAgent{Name: pos[0], DisplayName: *display,
		Role: *role, Password: password, Replace: *reset, OneTime: !*fromStdin}, 12, time.Now())
	if err != nil {
		if errors.Is(err, handoff.ErrAgentExists) {
			fmt.Fprintf(stdio.Stderr, "parley agents add: %v (use --reset to set a new password)\n", err)
			return 1
		}
		fmt.Fprintf(stdio.Stderr, "parley agents add: %v\n", err)
		return 1
	}
	verb := "created"
	if *reset {
		verb = "updated"
	}
	fmt.Fprintf(stdio.Stdout, "%s agent %q (role %s, shown to customers as %q)\n", verb, a.Name, a.Role, a.DisplayName)
	if !*fromStdin {
		fmt.Fprintf(stdio.Stdout, "one-time password: %s\n", password)
		fmt.Fprintln(stdio.Stdout, "it is shown only now and works once: sign in at /console/ and choose your own password")
	}
	return 0
}

func agentsList(args []string, stdio IO) int {
	fs := newFlagSet("parley agents list", stdio)
	asJSON := fs.Bool("json", false, "print a JSON array")
	dbPath := dbFlag(fs)
	if pos, err := parseInterspersed(fs, args); err != nil || len(pos) > 0 {
		if err == nil {
			fmt.Fprintf(stdio.Stderr, "parley agents list: unexpected argument %q\n", pos[0])
		}
		return 2
	}
	db, err := openStoreFor("agents list", *dbPath, true)
	if err != nil {
		fmt.Fprintln(stdio.Stderr, err)
		return 1
	}
	defer db.Close()
	agents, err := db.Agents()
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "parley agents list: %v\n", err)
		return 1
	}
	if *asJSON {
		if agents == nil {
			agents = []store.Agent{} // the hash is never encoded (json:"-")
		}
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(agents)
		return 0
	}
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tDISPLAY NAME\tPASSWORD\tCREATED")
	for _, a := range agents {
		// "one-time": the agent has not signed in and chosen their own yet.
		pw := "set"
		if a.PasswordOneTime {
			pw = "one-time"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Role, a.DisplayName, pw, a.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
	}
	tw.Flush()
	return 0
}
