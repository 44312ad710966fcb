// Package deps holds only a test: it keeps the one-way package shape
// cmd -> bot -> (handoff, flows) -> store, in the manner of the Go standard
// library's go/build deps_test.go.
package deps

import (
	"encoding/json"
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/parley-chat/parley"

// allowed lists, for each of our packages (prefix match on the directory),
// which of our packages it may import. Everything not listed is refused.
var allowed = map[string][]string{
	"bot/channel":  {},
	"bot/telegram": {"bot/channel"},
	"bot/vk":       {"bot/channel"},
	"bot/webchat":  {"bot/channel", "internal/jsonx"},
	"bot/gateway":  {"bot/channel"},
	"bot/email":    {"bot/channel"},
	"bot/outbound": {"bot", "bot/channel", "flows", "store"},
	"bot":          {"bot/channel", "flows", "handoff", "store"},
	"flows/nlu":    {},
	"flows":        {"flows", "internal/jsonx"}, // its own sub-packages only
	"handoff":      {"handoff", "store", "bot/channel"},
	"store":        {"store", "internal/jsonx"},
	"internal":     {"internal"},
	"cmd":          {""}, // anything
}

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		rules, ok := rulesFor(rel)
		if !ok {
			t.Errorf("%s: no import rule for this package; add it to allowed", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if !permitted(rules, dep) {
				t.Errorf("%s imports %s: against the one-way rule cmd -> bot -> (handoff, flows) -> store", rel, dep)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list returned %d packages; the test is not looking at the module", seen)
	}
}

// rulesFor picks the most specific rule whose key is rel or a parent of rel.
func rulesFor(rel string) ([]string, bool) {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if r, ok := allowed[p]; ok {
			return r, true
		}
	}
	return nil, false
}

func permitted(rules []string, dep string) bool {
	for _, r := range rules {
		if r == "" || dep == r || strings.HasPrefix(dep, r+"/") {
			return true
		}
	}
	return false
}

func TestRulesRefuseUpwardImports(t *testing.T) {
	for _, c := range []struct {
		pkg, dep string
		ok       bool
	}{
		{"store", "bot", false},
		{"store", "flows", false},
		{"flows/nlu", "flows", false},
		{"flows/syntax", "store", false},
		{"flows", "flows/nlu", true},
		{"bot/telegram", "bot", false},
		{"bot/telegram", "bot/channel", true},
		{"handoff", "bot", false},
		{"handoff", "store", true},
		{"bot", "handoff", true},
		{"cmd", "bot", true},
	} {
		rules, found := rulesFor(c.pkg)
		if !found {
			t.Fatalf("no rule for %s", c.pkg)
		}
		if got := permitted(rules, c.dep); got != c.ok {
			t.Errorf("%s importing %s: permitted = %v, want %v", c.pkg, c.dep, got, c.ok)
		}
	}
}
