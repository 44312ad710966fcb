package flows_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// readReference reads docs/flows.md, the flow language's reference.
func readReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/flows.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReferenceNamesTheLanguage: every node kind has its section, and
// every name an expression can read (Env's fields and their fields) and
// every function of the flow language is in docs/flows.md, so a new one
// cannot ship undocumented.
func TestReferenceNamesTheLanguage(t *testing.T) {
	doc := readReference(t)
	for _, k := range syntax.Kinds {
		if !strings.Contains(doc, "\n### "+k+"\n") {
			t.Errorf("docs/flows.md has no section \"### %s\" for the node kind", k)
		}
	}
	for _, n := range eval.EnvNames() {
		if !regexp.MustCompile("`" + regexp.QuoteMeta(n) + "[`.]").MatchString(doc) {
			t.Errorf("docs/flows.md does not name the expression name `%s`", n)
		}
	}
	for name, fields := range eval.Fields() {
		for _, f := range fields {
			if !strings.Contains(doc, name+"."+f) {
				t.Errorf("docs/flows.md does not name %s.%s", name, f)
			}
		}
	}
	for _, fn := range eval.FuncNames() {
		if !strings.Contains(doc, "`"+fn+"(") {
			t.Errorf("docs/flows.md does not describe the function %s(...)", fn)
		}
	}
}

// TestReferenceExamplesLoad: every YAML example in docs/flows.md is read
// by the decoder of what it shows (a project file, a flow, nodes,
// triggers, a knowledge base, tests, a suite) without a problem.
func TestReferenceExamplesLoad(t *testing.T) {
	doc := readReference(t)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(doc, -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d yaml examples in docs/flows.md", len(blocks))
	}
	for i, m := range blocks {
		src := dedent(m[1])
		first := strings.SplitN(strings.TrimSpace(src), ":", 2)[0]
		r := &syntax.Reporter{}
		file := "example.yaml"
		switch first {
		case "name":
			syntax.ParseProject(r, file, []byte(src))
		case "triggers", "escalation", "vars":
			syntax.ParseProject(r, file, []byte("name: doc\nstart: main\n"+src))
		case "flow":
			syntax.ParseFlow(r, file, []byte(src))
		case "faq":
			syntax.ParseFAQ(r, file, []byte(src))
		case "tests":
			syntax.ParseTests(r, file, []byte(src))
		case "suite":
			if v := syntax.ParseValue(r, file, []byte(src)); v != nil {
				syntax.SuiteOf(r, file, v)
			}
		default: // nodes of a flow
			syntax.ParseFlow(r, file, []byte("flow: doc\nstart: x\nnodes:\n"+indent(src)))
		}
		if r.Len() > 0 {
			t.Errorf("yaml example %d (%q...) does not load:\n%v", i+1, first, r.List)
		}
	}
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	cut := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); cut < 0 || n < cut {
			cut = n
		}
	}
	for i, l := range lines {
		if len(l) >= cut && cut > 0 {
			lines[i] = l[cut:]
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
