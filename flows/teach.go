package flows

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/parley-chat/parley/flows/nlu"
	"github.com/parley-chat/parley/flows/syntax"
)

// Teaching from the misses inbox: pure edits of faq.yaml's text. The lead
// keeps the file in Git and edits it by hand, so an edit inserts lines
// where a person would and leaves every other byte (comments, order,
// quoting, blank lines) as it was. The caller lints the result with the
// rest of the project before writing it.

// Knowledge-base kinds a message can be taught to.
const (
	KindFAQ    = "faq"
	KindIntent = "intent"
)

// KBItem is one FAQ entry or intent of faq.yaml, as the console's picker
// lists it.
type KBItem struct {
	Kind  string            `json:"kind"` // KindFAQ or KindIntent
	ID    string            `json:"id"`
	Title map[string]string `json:"title,omitempty"` // FAQ entries: by language ("" = every language)
	// Examples are a few of its questions or examples, by language, for
	// the lead to recognise it.
	Examples map[string][]string `json:"examples,omitempty"`
	Count    int                 `json:"count"` // examples in every language
}

// KnowledgeBase lists the FAQ entries and intents of faq.yaml's text src.
func KnowledgeBase(src []byte) ([]KBItem, error) {
	var r syntax.Reporter
	r.AddSource(FAQFile, src)
	q := syntax.ParseFAQ(&r, FAQFile, src)
	if err := r.Err(); err != nil {
		return nil, err
	}
	examples := func(ex *syntax.Examples) (map[string][]string, int) {
		if ex == nil {
			return nil, 0
		}
		out, n := map[string][]string{}, 0
		for lang, ss := range ex.Langs {
			n += len(ss)
			for i, s := range ss {
				if i == 3 {
					break
				}
				out[lang] = append(out[lang], s.Value)
			}
		}
		return out, n
	}
	var out []KBItem
	for _, e := range q.Entries {
		if e.ID == nil {
			continue
		}
		it := KBItem{Kind: KindFAQ, ID: e.ID.Value}
		if e.Title != nil {
			it.Title = map[string]string{}
			if e.Title.Any != nil {
				it.Title[""] = e.Title.Any.Value
			}
			for l, s := range e.Title.Langs {
				it.Title[l] = s.Value
			}
		}
		it.Examples, it.Count = examples(e.Questions)
		out = append(out, it)
	}
	for _, in := range q.Intents {
		if in.ID == nil {
			continue
		}
		it := KBItem{Kind: KindIntent, ID: in.ID.Value}
		it.Examples, it.Count = examples(in.Examples)
		out = append(out, it)
	}
	return out, nil
}

// NewFAQEntry is a FAQ entry the lead starts from a miss: per language,
// its questions (at least minExamples in all, as lint wants), its answer
// and an optional title (what "did you mean…?" calls it).
type NewFAQEntry struct {
	ID        string              `json:"id"`
	Title     map[string]string   `json:"title,omitempty"`
	Questions map[string][]string `json:"questions"`
	Answer    map[string]string   `json:"answer"`
}

// AddExample returns faq.yaml's text src with text added as an example of
// language lang to the FAQ entry (kind KindFAQ) or intent (KindIntent) id:
// at the end of that language's list, in the list's own style (a block
// "- item" line or a flow [a, b] item), or as a new language key when the
// entry has none in lang. Nothing else in src changes.
func AddExample(src []byte, kind, id, lang, text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("the example is empty")
	}
	if strings.ContainsAny(text, "\r\n") {
		return nil, fmt.Errorf("an example is one line: remove the line breaks")
	}
	if !isLangCode(lang) {
		return nil, fmt.Errorf("language %q: want a language code such as ru or en", lang)
	}
	f, err := parseAST(src)
	if err != nil {
		return nil, err
	}
	listKey, field := "faq", "questions"
	if kind == KindIntent {
		listKey, field = "intents", "examples"
	} else if kind != KindFAQ {
		return nil, fmt.Errorf("kind %q: want %s or %s", kind, KindFAQ, KindIntent)
	}
	seq, ok := mapValue(f, listKey).(*ast.SequenceNode)
	if !ok {
		return nil, fmt.Errorf("%s has no %s: list", FAQFile, listKey)
	}
	var entry *ast.MappingNode
	for _, v := range seq.Values {
		if m := asMapping(v); m != nil && scalarOf(mapValue(m, "id")) == id {
			entry = m
			break
		}
	}
	if entry == nil {
		return nil, fmt.Errorf("%s has no %s %q", FAQFile, kindName(kind), id)
	}
	ex := asMapping(mapValue(entry, field))
	if ex == nil {
		return nil, fmt.Errorf("%s %q has no %s: mapping to add to; edit %s by hand", kindName(kind), id, field, FAQFile)
	}
	t := newText(src)
	var out []byte
	if list, ok := mapValue(ex, lang).(*ast.SequenceNode); ok {
		out, err = t.appendToSeq(list, text)
	} else if mapValue(ex, lang) != nil {
		return nil, fmt.Errorf("%s %q: %s.%s is not a list; edit %s by hand", kindName(kind), id, field, lang, FAQFile)
	} else {
		out, err = t.addLangKey(ex, lang, text)
	}
	if err != nil {
		return nil, err
	}
	if err := checkAdded(out, kind, id, lang, text); err != nil {
		return nil, err
	}
	return out, nil
}

// AddFAQEntry returns faq.yaml's text src with e appended to its faq:
// list (or a new faq: list at the end when it has none).
func AddFAQEntry(src []byte, e NewFAQEntry) ([]byte, error) {
	if !idRE.MatchString(e.ID) {
		return nil, fmt.Errorf("id %q: want letters, digits and _, starting with a letter", e.ID)
	}
	if len(e.Questions) == 0 || len(e.Answer) == 0 {
		return nil, fmt.Errorf("a new FAQ entry needs questions and an answer")
	}
	for _, m := range []map[string]string{e.Title, e.Answer} {
		for l, s := range m {
			if !isLangCode(l) {
				return nil, fmt.Errorf("language %q: want a language code such as ru or en", l)
			}
			if strings.TrimSpace(s) == "" {
				delete(m, l)
			}
		}
	}
	for l, qs := range e.Questions {
		if !isLangCode(l) {
			return nil, fmt.Errorf("language %q: want a language code such as ru or en", l)
		}
		var keep []string
		for _, q := range qs {
			q = strings.TrimSpace(q)
			if strings.ContainsAny(q, "\r\n") {
				return nil, fmt.Errorf("a question is one line: remove the line breaks")
			}
			if q != "" {
				keep = append(keep, q)
			}
		}
		if len(keep) == 0 {
			delete(e.Questions, l)
		} else {
			e.Questions[l] = keep
		}
	}
	if len(e.Questions) == 0 || len(e.Answer) == 0 {
		return nil, fmt.Errorf("a new FAQ entry needs questions and an answer")
	}
	f, err := parseAST(src)
	if err != nil {
		return nil, err
	}
	t := newText(src)
	node := mapValue(f, "faq")
	var out []byte
	switch seq := node.(type) {
	case *ast.SequenceNode:
		if seq.IsFlowStyle || len(seq.Values) == 0 {
			return nil, fmt.Errorf("%s: faq: is written as [ ]; write it as a list of \"- id: …\" entries by hand first", FAQFile)
		}
		col := t.dashCol(seq)
		end := t.blockEnd(seq.Values[len(seq.Values)-1], col)
		out = t.insertAt(end, "\n"+entryYAML(e, col))
	case nil:
		if hasKey(f, "faq") {
			return nil, fmt.Errorf("%s: faq: is empty; write it as a list of \"- id: …\" entries by hand first", FAQFile)
		}
		var b bytes.Buffer
		b.Write(src)
		if len(src) > 0 && src[len(src)-1] != '\n' {
			b.WriteByte('\n')
		}
		b.WriteString("\nfaq:\n")
		b.WriteString(entryYAML(e, 2))
		out = b.Bytes()
	default:
		return nil, fmt.Errorf("%s: faq: is not a list", FAQFile)
	}
	for l, qs := range e.Questions {
		for _, q := range qs {
			if err := checkAdded(out, KindFAQ, e.ID, l, q); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// entryYAML writes e as a block sequence item whose dash is at 0-based
// column col, in the demo's layout.
func entryYAML(e NewFAQEntry, col int) string {
	pad := strings.Repeat(" ", col)
	in := pad + "  "
	var b strings.Builder
	fmt.Fprintf(&b, "%s- id: %s\n", pad, e.ID)
	if len(e.Title) > 0 {
		fmt.Fprintf(&b, "%stitle: {", in)
		for i, l := range keys(e.Title) {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s: %s", l, strconv.Quote(e.Title[l]))
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "%squestions:\n", in)
	for _, l := range keys(e.Questions) {
		fmt.Fprintf(&b, "%s  %s:\n", in, l)
		for _, q := range e.Questions[l] {
			fmt.Fprintf(&b, "%s    - %s\n", in, scalar(q, false))
		}
	}
	fmt.Fprintf(&b, "%sanswer:\n", in)
	for _, l := range keys(e.Answer) {
		fmt.Fprintf(&b, "%s  %s: %s\n", in, l, strconv.Quote(e.Answer[l]))
	}
	return b.String()
}

// checkAdded parses the edited text as lint will and confirms text is now
// an example of id in lang: an edit that landed elsewhere is refused, not
// written.
func checkAdded(src []byte, kind, id, lang, text string) error {
	var r syntax.Reporter
	r.AddSource(FAQFile, src)
	q := syntax.ParseFAQ(&r, FAQFile, src)
	if err := r.Err(); err != nil {
		return err
	}
	var ex *syntax.Examples
	if kind == KindFAQ {
		for _, e := range q.Entries {
			if e.ID != nil && e.ID.Value == id {
				ex = e.Questions
			}
		}
	} else {
		for _, in := range q.Intents {
			if in.ID != nil && in.ID.Value == id {
				ex = in.Examples
			}
		}
	}
	if ex != nil && slices.ContainsFunc(ex.Langs[lang], func(s *syntax.Str) bool { return s.Value == text }) {
		return nil
	}
	return fmt.Errorf("%s: the edit did not read back as an example of %s %q; edit the file by hand", FAQFile, kindName(kind), id)
}

// Understood is what the classifier makes of a message under a project:
// the FAQ entry or intent it takes it for, how sure, and whether it is out
// of scope (the bot then does not answer from the knowledge base).
type Understood struct {
	Kind   string  `json:"kind"` // faq, intent or none
	ID     string  `json:"id,omitempty"`
	Score  float64 `json:"score,omitempty"`
	OOS    bool    `json:"oos,omitempty"`
	Direct bool    `json:"direct"` // sure enough to answer without asking "did you mean…?"
}

// DirectScore is the score from which the demo flows answer an FAQ entry
// without asking "did you mean…?" (flows/demo/project/flows/main.yaml).
const DirectScore = 0.7

// Understand classifies text with the project's knowledge base, as a turn
// does, without running a flow. Kind is "none" without a knowledge base.
func (p *Project) Understand(text string) Understood {
	u := p.understand
	if u == nil || u.clf == nil || strings.TrimSpace(text) == "" {
		return Understood{Kind: "none"}
	}
	pred := u.clf.Classify(text)
	out := Understood{Kind: "none", ID: pred.Label, Score: pred.Score, OOS: pred.OOS}
	switch {
	case pred.Label == "" || pred.Label == nlu.OOSLabel:
		out.ID = ""
	case u.entries[pred.Label] != nil:
		out.Kind = KindFAQ
	default:
		out.Kind = KindIntent
	}
	out.Direct = out.Kind != "none" && !out.OOS && out.Score >= DirectScore
	return out
}

func kindName(kind string) string {
	if kind == KindIntent {
		return "intent"
	}
	return "FAQ entry"
}

// ---- the AST, read only for positions ----

func parseAST(src []byte) (ast.Node, error) {
	f, err := parser.ParseBytes(src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %v", FAQFile, err)
	}
	if len(f.Docs) != 1 {
		return nil, fmt.Errorf("%s: want one YAML document", FAQFile)
	}
	m := asMapping(f.Docs[0].Body)
	if m == nil {
		return nil, fmt.Errorf("%s: want a mapping of faq, intents, out_of_scope and synonyms", FAQFile)
	}
	return m, nil
}

// asMapping unwraps comments and returns n as a mapping, or nil.
func asMapping(n ast.Node) *ast.MappingNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v
	case *ast.MappingValueNode:
		// A one-key mapping may come as the pair alone.
		return &ast.MappingNode{BaseNode: v.BaseNode, Start: v.Start, Values: []*ast.MappingValueNode{v}}
	case *ast.CommentGroupNode:
		return nil
	}
	return nil
}

func mapPair(n ast.Node, key string) *ast.MappingValueNode {
	m := asMapping(n)
	if m == nil {
		return nil
	}
	for _, mv := range m.Values {
		if mv.Key != nil && scalarOf(mv.Key) == key {
			return mv
		}
	}
	return nil
}

// mapValue is the value of key in mapping n; nil when absent or null.
func mapValue(n ast.Node, key string) ast.Node {
	mv := mapPair(n, key)
	if mv == nil {
		return nil
	}
	if _, null := mv.Value.(*ast.NullNode); null {
		return nil
	}
	return mv.Value
}

func hasKey(n ast.Node, key string) bool { return mapPair(n, key) != nil }

func scalarOf(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(ast.ScalarNode); ok {
		if v := s.GetValue(); v != nil {
			return fmt.Sprint(v)
		}
	}
	return n.GetToken().Value
}

// ---- text edits ----

// srcText is src split into lines, to turn the parser's (line, rune column)
// positions into byte offsets.
type srcText struct {
	src   []byte
	lines []int // byte offset of each line's start
}

func newText(src []byte) *srcText {
	t := &srcText{src: src, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			t.lines = append(t.lines, i+1)
		}
	}
	return t
}

// offset of 1-based line and rune column.
func (t *srcText) offset(line, col int) int {
	if line < 1 || line > len(t.lines) {
		return len(t.src)
	}
	off := t.lines[line-1]
	for c := 1; c < col && off < len(t.src) && t.src[off] != '\n'; c++ {
		_, n := utf8.DecodeRune(t.src[off:])
		off += n
	}
	return off
}

func (t *srcText) line(i int) string { // 1-based, without the newline
	start := t.lines[i-1]
	end := len(t.src)
	if i < len(t.lines) {
		end = t.lines[i] - 1
	}
	return strings.TrimSuffix(string(t.src[start:end]), "\r")
}

func (t *srcText) insertAt(off int, s string) []byte {
	if bytes.Contains(t.src, []byte("\r\n")) {
		s = strings.ReplaceAll(s, "\n", "\r\n") // the file's own line ends
	}
	out := make([]byte, 0, len(t.src)+len(s)+2)
	out = append(out, t.src[:off]...)
	if off == len(t.src) && off > 0 && t.src[off-1] != '\n' {
		out = append(out, '\n') // the file's last line had no newline
	}
	out = append(out, s...)
	return append(out, t.src[off:]...)
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " ")) }

func isBlankOrComment(line string) bool {
	s := strings.TrimSpace(line)
	return s == "" || strings.HasPrefix(s, "#")
}

// dashCol is the 0-based column of a block sequence's dashes.
func (t *srcText) dashCol(seq *ast.SequenceNode) int {
	return indentOf(t.line(seq.Start.Position.Line))
}

// blockEnd is the byte offset just after the last line of item, the last
// item of a block sequence whose dashes are at column col: the lines that
// follow it indented deeper, up to the last one with content (comments
// and blank lines after it belong to what comes next).
func (t *srcText) blockEnd(item ast.Node, col int) int {
	first := item.GetToken().Position.Line
	last := first
	for i := first + 1; i <= len(t.lines); i++ {
		l := t.line(i)
		if isBlankOrComment(l) {
			continue
		}
		if indentOf(l) <= col {
			break
		}
		last = i
	}
	if last < len(t.lines) {
		return t.lines[last]
	}
	return len(t.src)
}

// appendToSeq adds text as the last item of list.
func (t *srcText) appendToSeq(list *ast.SequenceNode, text string) ([]byte, error) {
	if list.IsFlowStyle {
		if list.End == nil {
			return nil, fmt.Errorf("%s: a [ ] list is not closed", FAQFile)
		}
		off := t.offset(list.End.Position.Line, list.End.Position.Column)
		item := scalar(text, true)
		// Trailing spaces before "]" stay where they are.
		at := off
		for at > 0 && t.src[at-1] == ' ' {
			at--
		}
		if len(list.Values) > 0 {
			item = ", " + item
		}
		return t.insertAt(at, item), nil
	}
	if len(list.Values) == 0 {
		return nil, fmt.Errorf("%s: an empty list; add the first example by hand", FAQFile)
	}
	col := t.dashCol(list)
	if l := t.line(list.Start.Position.Line); !strings.HasPrefix(strings.TrimLeft(l, " "), "-") {
		return nil, fmt.Errorf("%s: the list at line %d is not one item a line; edit it by hand", FAQFile, list.Start.Position.Line)
	}
	end := t.blockEnd(list.Values[len(list.Values)-1], col)
	return t.insertAt(end, strings.Repeat(" ", col)+"- "+scalar(text, false)+"\n"), nil
}

// addLangKey adds "lang: [text]"-style key to the examples mapping ex: in
// a flow mapping before its "}", in a block mapping after its last value.
func (t *srcText) addLangKey(ex *ast.MappingNode, lang, text string) ([]byte, error) {
	if ex.IsFlowStyle {
		if ex.End == nil {
			return nil, fmt.Errorf("%s: a { } mapping is not closed", FAQFile)
		}
		at := t.offset(ex.End.Position.Line, ex.End.Position.Column)
		for at > 0 && t.src[at-1] == ' ' {
			at--
		}
		item := lang + ": [" + scalar(text, true) + "]"
		if len(ex.Values) > 0 {
			item = ", " + item
		}
		return t.insertAt(at, item), nil
	}
	if len(ex.Values) == 0 {
		return nil, fmt.Errorf("%s: an empty mapping; edit it by hand", FAQFile)
	}
	first := ex.Values[0].Key.GetToken().Position
	col := first.Column - 1
	last := ex.Values[len(ex.Values)-1]
	end := t.blockEnd(last.Key, col)
	return t.insertAt(end, fmt.Sprintf("%s%s:\n%s  - %s\n", strings.Repeat(" ", col), lang, strings.Repeat(" ", col), scalar(text, false))), nil
}

// scalar writes s as a YAML scalar: plain, as the lead writes examples,
// when it reads back as the same string in that place (a flow list when
// inFlow, a block item otherwise), else double-quoted.
func scalar(s string, inFlow bool) string {
	plain := !strings.ContainsAny(s, "\"\\\t") && s == strings.TrimSpace(s)
	if plain {
		doc := "- " + s
		if inFlow {
			doc = "[" + s + "]"
		}
		var got []any
		if err := yaml.Unmarshal([]byte(doc), &got); err != nil || len(got) != 1 {
			plain = false
		} else if v, ok := got[0].(string); !ok || v != s {
			plain = false
		}
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}
