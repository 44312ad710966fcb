// Package syntax owns the surface of the flow language: it reads project,
// flow, FAQ and conversation-test YAML files into plain Go values that keep
// the file, line and column of every scalar, and it owns the positioned
// error list that every later stage (compilation, validation) reports into.
// It is a leaf: it imports nothing of ours and knows nothing of expressions.
package syntax

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a project file. Line and Col are 1-based; Col counts
// characters (runes), not bytes, as an editor does.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// IsValid reports whether p points somewhere.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Error is one problem in a project, positioned in its file. Path is the
// place inside the document ("nodes.ask_order.validate"); Snippet, when
// present, is the offending source line with a caret under the column.
type Error struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
	Snippet   string
}

// Pos returns the position of e.
func (e *Error) Pos() Pos { return Pos{File: e.File, Line: e.Line, Col: e.Col} }

// Header is the one-line form "file:line:col: path: msg".
func (e *Error) Header() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Error() string {
	if e.Snippet == "" {
		return e.Header()
	}
	return e.Header() + "\n" + e.Snippet
}

// ErrorList is every problem found, sorted by file, line and column.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the list by file, line, column, path and message, and drops
// exact duplicates (the same problem reached twice).
func (l *ErrorList) Sort() {
	slices.SortStableFunc(*l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	*l = slices.CompactFunc(*l, func(a, b *Error) bool {
		return a.File == b.File && a.Line == b.Line && a.Col == b.Col && a.Path == b.Path && a.Msg == b.Msg
	})
}

// Err returns the sorted list as an error, or nil when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Reporter collects errors and renders snippets from the sources it knows.
type Reporter struct {
	List ErrorList
	// Warnings are problems that do not stop a project from loading (a
	// text missing one of the project's languages): lint shows them.
	Warnings ErrorList
	sources  map[string][]string // file -> lines
	// unparsed are the files whose YAML did not parse at all.
	unparsed map[string]bool
}

// Warnf records a warning at pos.
func (r *Reporter) Warnf(pos Pos, path, format string, args ...any) {
	pos = r.clamp(pos)
	r.Warnings = append(r.Warnings, &Error{File: pos.File, Line: pos.Line, Col: pos.Col, Path: path,
		Msg: fmt.Sprintf(format, args...), Snippet: r.snippet(pos)})
}

// Unparsed reports whether some file's YAML did not parse: what later
// stages would say about the project then follows from that one error
// (its flow is missing, so every reference to it is "unknown"), and only
// the syntax error is worth showing.
func (r *Reporter) Unparsed() bool { return len(r.unparsed) > 0 }

func (r *Reporter) markUnparsed(file string) {
	if r.unparsed == nil {
		r.unparsed = map[string]bool{}
	}
	r.unparsed[file] = true
}

// AddSource registers a file's text so errors in it get a snippet.
func (r *Reporter) AddSource(file string, src []byte) {
	if r.sources == nil {
		r.sources = map[string][]string{}
	}
	r.sources[file] = strings.Split(string(src), "\n")
}

// Errorf records a problem at pos.
func (r *Reporter) Errorf(pos Pos, path, format string, args ...any) {
	pos = r.clamp(pos)
	r.List = append(r.List, &Error{File: pos.File, Line: pos.Line, Col: pos.Col, Path: path,
		Msg: fmt.Sprintf(format, args...), Snippet: r.snippet(pos)})
}

// Add records a ready-made error, adding a snippet when it has none.
func (r *Reporter) Add(e *Error) {
	p := r.clamp(e.Pos())
	e.Line, e.Col = p.Line, p.Col
	if e.Snippet == "" {
		e.Snippet = r.snippet(e.Pos())
	}
	r.List = append(r.List, e)
}

// clamp keeps a position inside its file: the YAML parser places some
// tokens (implicit nulls, end of input) one past the text.
func (r *Reporter) clamp(pos Pos) Pos {
	lines, ok := r.sources[pos.File]
	if !ok || pos.Line < 1 {
		return pos
	}
	if pos.Line > len(lines) {
		pos.Line = len(lines)
		pos.Col = len([]rune(lines[pos.Line-1])) + 1
	}
	if n := len([]rune(strings.TrimRight(lines[pos.Line-1], "\r"))) + 1; pos.Col > n {
		pos.Col = n
	}
	if pos.Col < 1 {
		pos.Col = 1
	}
	return pos
}

// Len is the number of problems so far.
func (r *Reporter) Len() int { return len(r.List) }

// Err returns the sorted problems or nil.
func (r *Reporter) Err() error { return r.List.Err() }

// snippet is the source line at pos with a caret under the column, each
// line prefixed with "    | " so it stands apart from the header.
func (r *Reporter) snippet(pos Pos) string {
	lines, ok := r.sources[pos.File]
	if !ok || pos.Line < 1 || pos.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(strings.ReplaceAll(lines[pos.Line-1], "\t", " "), "\r")
	if strings.TrimSpace(line) == "" {
		return ""
	}
	col := max(pos.Col, 1)
	if n := len([]rune(line)) + 1; col > n {
		col = n
	}
	return "    | " + line + "\n    | " + strings.Repeat(" ", col-1) + "^"
}
