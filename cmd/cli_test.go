package cmd

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// run runs one command line and returns its exit code and outputs.
func run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return code, out.String(), errOut.String()
}

// leaves lists the command paths that run something and have no
// subcommands ("chat", "agents add", "nlu eval project").
func leaves(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		path := append(slices.Clone(prefix), sub.Name())
		if sub.HasSubCommands() {
			out = append(out, leaves(sub, path)...)
			continue
		}
		out = append(out, path)
	}
	return out
}

func TestEveryCommandHasHelpWithExamplesAndItsFlags(t *testing.T) {
	paths := leaves(newTree(IO{}).root, nil)
	if len(paths) < 18 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, p := range paths {
		code, out, errOut := run(append(slices.Clone(p), "--help")...)
		name := strings.Join(p, " ")
		if code != 0 || errOut != "" {
			t.Errorf("parley %s --help: exit %d, stderr %q", name, code, errOut)
			continue
		}
		if !strings.Contains(out, "Usage:\n  parley "+name) || !strings.Contains(out, "Examples:\n  parley") {
			t.Errorf("parley %s --help has no usage line or examples:\n%s", name, out)
		}
		// -h anywhere, after flags and arguments too, is help.
		if code, out2, _ := run(append(slices.Clone(p), "x", "-h")...); code != 0 || out2 != out {
			t.Errorf("parley %s x -h: exit %d, or a different text", name, code)
		}
	}
	// The flags a command parses are the ones its help lists.
	_, out, _ := run("chat", "--help")
	for _, f := range []string{"--db string", "--channel string", "--new", "--record FILE", "--debug", "--json"} {
		if !strings.Contains(out, f) {
			t.Errorf("chat --help does not list %s:\n%s", f, out)
		}
	}
	if code, out, _ := run("help", "tickets", "list"); code != 0 || !strings.Contains(out, "queued    waiting for an agent") {
		t.Errorf("help tickets list: exit %d:\n%s", code, out)
	}
}

func TestVersionCompletionAndMistypedCommands(t *testing.T) {
	_, v1, _ := run("version")
	code, v2, _ := run("--version")
	if code != 0 || v1 == "" || v1 != v2 || !strings.HasPrefix(v1, "parley ") {
		t.Errorf("version %q and --version %q (exit %d) should be one line starting with parley", v1, v2, code)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, errOut := run("completion", shell)
		if code != 0 || !strings.Contains(out, "parley") || errOut != "" {
			t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(out), errOut)
		}
	}
	// The shell asks the binary: flag names, a flag's fixed values.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "chat", "--cha"}, "--channel"},
		{[]string{"__complete", "chat", "--channel", ""}, "telegram"},
		{[]string{"__complete", "tickets", "list", "--status", "q"}, "queued"},
		{[]string{"__complete", "graph", "shop", "--format", ""}, "mermaid"},
		{[]string{"__complete", "con"}, "contacts"},
		{[]string{"__complete", "contacts", "list", "--se"}, "--search"},
	} {
		if _, out, _ := run(c.args...); !strings.Contains(out, c.want) {
			t.Errorf("%v: want %q among\n%s", c.args, c.want, out)
		}
	}
	code, _, errOut := run("chta")
	if code != 2 || !strings.Contains(errOut, `parley: unknown command "chta" for "parley"`) || !strings.Contains(errOut, "Did you mean this?\n\tchat") {
		t.Errorf("chta: exit %d, stderr:\n%s", code, errOut)
	}
	code, _, errOut = run()
	if code != 2 || !strings.Contains(errOut, "Available Commands:") {
		t.Errorf("bare parley: exit %d, stderr:\n%s", code, errOut)
	}
}

// A running server holds the database file; every command that opens it
// says so the same way.
func TestEveryCommandExplainsADatabaseInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock timeout once per command")
	}
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := path + " is in use by a running parley server; stop it first"
	shop := filepath.Join(t.TempDir(), "shop")
	if code, _, errOut := run("init", shop); code != 0 {
		t.Fatal(errOut)
	}
	for _, args := range [][]string{
		{"agents", "list", "--db", path},
		{"agents", "add", "anna", "--role", "agent", "--db", path},
		{"apikeys", "add", "shop", "--db", path},
		{"apikeys", "list", "--db", path},
		{"tickets", "list", "--db", path},
		{"contacts", "list", "--db", path},
		{"contacts", "export", "telegram:1", "--db", path},
		{"stats", "--db", path},
		{"compact", "--db", path},
		{"chat", "--db", path},
		{"lint", shop, "--db", path},
		{"serve", "--db", path, "--addr", "127.0.0.1:0"},
		{"backup", filepath.Join(t.TempDir(), "copy.db"), "--db", path, "--timeout", "50ms"},
	} {
		code, _, errOut := run(args...)
		if code != 1 || !strings.HasPrefix(errOut, "parley "+args[0]) || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", args, code, errOut, want)
		}
	}
}

// parley graph draws what the console's /api/flows serves: the same flows,
// nodes and edges, for the same project.
func TestGraphAgreesWithTheConsole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	if code, _, errOut := run("init", dir); code != 0 {
		t.Fatal(errOut)
	}
	s, _ := startServer(t, func(c *Config) { c.Flows = dir })
	addAgent(t, s.db, "lead", "Lead", handoff.RoleLead)
	var console struct{ Flows []flows.FlowGraph }
	agentLogin(t, "http://"+s.addr, "lead").call("GET", "/api/flows", nil, &console)

	code, out, errOut := run("graph", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("graph: exit %d: %s", code, errOut)
	}
	var cli struct{ Flows []flows.FlowGraph }
	if err := json.Unmarshal([]byte(out), &cli); err != nil {
		t.Fatal(err)
	}
	if len(cli.Flows) < 3 {
		t.Fatalf("graph lists %d flows", len(cli.Flows))
	}
	a, _ := json.Marshal(console.Flows)
	b, _ := json.Marshal(cli.Flows)
	if string(a) != string(b) {
		t.Errorf("the console and parley graph differ:\nconsole %s\ngraph   %s", a, b)
	}

	// Every node and edge is in the pictures, each once.
	_, mermaid, _ := run("graph", dir, "--format", "mermaid")
	_, dot, _ := run("graph", "--format", "dot", dir)
	_, svg, _ := run("graph", dir, "--format", "svg")
	for d := xml.NewDecoder(strings.NewReader(svg)); ; {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the svg is not well-formed XML: %v", err)
		}
	}
	nodes, edges := 0, 0
	for _, g := range cli.Flows {
		for _, n := range g.Nodes {
			nodes++
			ref := qualified(g.Flow, n.ID)
			if c := strings.Count(mermaid, "    "+mermaidID(ref)+"["); c != 1 {
				t.Errorf("mermaid: node %s drawn %d times", ref, c)
			}
			if c := strings.Count(dot, "    "+dotText(ref)+" [label="); c != 1 {
				t.Errorf("dot: node %s drawn %d times", ref, c)
			}
			if c := strings.Count(svg, `font-weight="bold">`+svgEsc(fitText(n.ID+" ("+n.Kind+")", svgBoxW-16))+"</text>"); c != 1 {
				t.Errorf("svg: node %s drawn %d times", ref, c)
			}
		}
		for _, e := range g.Edges {
			edges++
			from, to := qualified(g.Flow, e.From), qualified(g.Flow, e.To)
			m := "  " + mermaidID(from) + " -->|" + mermaidText(e.Label) + "| " + mermaidID(to) + "\n"
			d := "  " + dotText(from) + " -> " + dotText(to) + " [label=" + dotText(e.Label) + "];\n"
			if !strings.Contains(mermaid, m) || !strings.Contains(dot, d) {
				t.Errorf("edge %s -> %s (%s) missing:\n%s%s", from, to, e.Label, m, d)
			}
		}
	}
	if got := len(regexp.MustCompile(`(?m)^  \S+ -->\|`).FindAllString(mermaid, -1)); got != edges {
		t.Errorf("mermaid has %d edges, the graph %d", got, edges)
	}
	if got := strings.Count(dot, " -> "); got != edges {
		t.Errorf("dot has %d edges, the graph %d", got, edges)
	}
	if got := strings.Count(svg, `<g class="edge">`); got != edges {
		t.Errorf("svg has %d edges, the graph %d", got, edges)
	}
	if nodes < 20 {
		t.Errorf("only %d nodes", nodes)
	}
}
