package flows_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/syntax"
)

// referenceTable returns the rows of the table in section whose header
// starts with header: each row's cells, without the backquotes.
func referenceTable(t *testing.T, section, header string) [][]string {
	t.Helper()
	i := strings.Index(section, "\n"+header)
	if i < 0 {
		t.Fatalf("docs/flows.md: no table %q in the human queue section", header)
	}
	var rows [][]string
	for n, line := range strings.Split(section[i+1:], "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		if n < 2 { // header and rule
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

var codeRE = regexp.MustCompile("`([^`]*)`")

// codes are the `quoted` names in a cell.
func codes(cell string) []string {
	var out []string
	for _, m := range codeRE.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestReferenceDocumentsHandoff: docs/flows.md lists exactly the keys of
// the handoff: section, exactly the notices with exactly the placeholders
// the queue fills in each, in the code's order, and what every
// placeholder is filled with.
func TestReferenceDocumentsHandoff(t *testing.T) {
	doc := readReference(t)
	start := strings.Index(doc, "\n## Human queue (`handoff:`)\n")
	if start < 0 {
		t.Fatal("docs/flows.md has no section \"## Human queue (`handoff:`)\"")
	}
	section := doc[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}

	var keys []string
	for _, row := range referenceTable(t, section, "| key |") {
		keys = append(keys, codes(row[0])...)
	}
	if !slices.Equal(keys, syntax.HandoffKeys) {
		t.Errorf("documented keys %q, the code's %q", keys, syntax.HandoffKeys)
	}

	var placeholders []string
	rows := referenceTable(t, section, "| notice |")
	if len(rows) != len(flows.HandoffNotices) {
		t.Errorf("%d notices documented, the code has %d", len(rows), len(flows.HandoffNotices))
	}
	for i, n := range flows.HandoffNotices {
		if i >= len(rows) {
			break
		}
		key, got := codes(rows[i][0]), codes(rows[i][1])
		if len(key) != 1 || key[0] != n.Key || !slices.Equal(got, n.Placeholders) && (len(got) != 0 || len(n.Placeholders) != 0) {
			t.Errorf("row %d documents %q with %q; the code has %q with %q", i+1, key, got, n.Key, n.Placeholders)
		}
		for _, p := range n.Placeholders {
			if !slices.Contains(placeholders, p) {
				placeholders = append(placeholders, p)
			}
		}
	}

	var documented []string
	for _, row := range referenceTable(t, section, "| placeholder |") {
		documented = append(documented, codes(row[0])...)
	}
	slices.Sort(placeholders)
	slices.Sort(documented)
	if !slices.Equal(documented, placeholders) {
		t.Errorf("placeholders documented %q, filled by the queue %q", documented, placeholders)
	}
}
