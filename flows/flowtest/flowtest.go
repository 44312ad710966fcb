// Package flowtest owns conversation tests: YAML scripts of customer turns
// (typed text or button presses) and what must follow (bot messages or a
// part of them, buttons, variables, a handoff with its reason, the end).
// http nodes are answered by canned responses declared in the test file;
// a test never reaches the network. A link node's message shows the
// stand-in code LinkCode. Run also measures node coverage.
package flowtest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// Load reads the conversation tests of a project (see LoadAll). The
// error is a flows.ErrorList with every problem.
func Load(fsys fs.FS) ([]*syntax.TestFile, error) {
	files, _, err := LoadAll(fsys)
	return files, err
}

// SuiteDir is where a project keeps its suites, next to the conversation
// tests; a suite may also sit in tests/ itself.
const SuiteDir = flows.TestsDir + "/suite"

// LoadAll reads tests/*.yaml and tests/suite/*.yaml (.yml too): a file
// whose top level has `suite:` is a suite, any other a file of
// conversation tests. The error is a flows.ErrorList with every problem.
func LoadAll(fsys fs.FS) ([]*syntax.TestFile, []*syntax.Suite, error) {
	var names []string
	for _, pat := range []string{"/*.yaml", "/*.yml"} {
		for _, dir := range []string{flows.TestsDir, SuiteDir} {
			more, err := fs.Glob(fsys, dir+pat)
			if err != nil {
				return nil, nil, err
			}
			names = append(names, more...)
		}
	}
	slices.Sort(names)
	r := &syntax.Reporter{}
	var files []*syntax.TestFile
	var suites []*syntax.Suite
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			r.Errorf(syntax.Pos{File: n}, "", "cannot read: %v", err)
			continue
		}
		v := syntax.ParseValue(r, n, b)
		switch {
		case v == nil:
		case syntax.IsSuite(v):
			suites = append(suites, syntax.SuiteOf(r, n, v))
		default:
			files = append(files, syntax.TestsOf(r, n, v))
		}
	}
	return files, suites, r.Err()
}

// Options select and configure a run.
type Options struct {
	// Run, when set, runs only tests whose name matches.
	Run *regexp.Regexp
	// Now is the clock of every test; default 2026-01-05 12:00 UTC, a Monday.
	Now time.Time
	// Hours are the business hours flows read as `hours` (flows.Options.Hours);
	// nil: always open.
	Hours func(at time.Time) (open bool, opensAt time.Time)
}

// Result is the outcome of one test.
type Result struct {
	File   string
	Name   string
	Pos    syntax.Pos
	Turns  int
	Failed bool
	// Failure is a readable explanation, with positions, when Failed.
	Failure string
}

// Coverage is how many nodes of a flow the tests visited.
type Coverage struct {
	Flow    string   `json:"flow"`
	File    string   `json:"file"`
	Covered int      `json:"covered"`
	Total   int      `json:"total"`
	Missing []string `json:"missing,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	Results  []Result
	Coverage []Coverage
}

// Failed counts failed tests.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if x.Failed {
			n++
		}
	}
	return n
}

// Run runs the tests against p.
func Run(ctx context.Context, p *flows.Project, files []*syntax.TestFile, opts Options) *Report {
	if opts.Now.IsZero() {
		opts.Now = defaultNow
	}
	visited := map[string]bool{}
	rep := &Report{}
	for _, f := range files {
		for _, t := range f.Tests {
			name := ""
			if t.Name != nil {
				name = t.Name.Value
			}
			if opts.Run != nil && !opts.Run.MatchString(name) {
				continue
			}
			res := runTest(ctx, p, f.File, t, opts, visited)
			res.Name = name
			rep.Results = append(rep.Results, res)
		}
	}
	for _, fl := range p.FlowNames() {
		c := Coverage{Flow: fl, File: p.FlowFile(fl)}
		for _, id := range p.NodeIDs(fl) {
			c.Total++
			if visited[fl+"."+id] {
				c.Covered++
			} else {
				c.Missing = append(c.Missing, id)
			}
		}
		rep.Coverage = append(rep.Coverage, c)
	}
	return rep
}

type failure struct {
	pos syntax.Pos
	msg string
}

func runTest(ctx context.Context, p *flows.Project, file string, t *syntax.Test, opts Options, visited map[string]bool) Result {
	res := Result{File: file, Pos: t.Pos}
	doer := newCanned(t.HTTP)
	e := p.NewEngine(flows.Options{HTTP: doer, Now: func() time.Time { return opts.Now }, Hours: opts.Hours})
	in := flows.Input{Channel: "web", Contact: flows.Contact{ID: "test"}}
	if t.Channel != nil {
		in.Channel = t.Channel.Value
	}
	if c := t.Contact; c != nil {
		if c.ID != nil {
			in.Contact.ID = c.ID.Value
		}
		if c.Name != nil {
			in.Contact.Name = c.Name.Value
		}
		if c.Lang != nil {
			in.Contact.Lang = c.Lang.Value
		}
		fields := map[string]string{}
		for _, f := range c.Fields {
			fields[f.Key.Value] = eval.Format(f.Val.Any())
		}
		setContact(&in.Contact, fields)
	}
	var st flows.State
	// clock is the time of the last event; next, of the next message.
	clock, next := opts.Now, opts.Now
	if !t.Now.IsZero() {
		clock, next = t.Now, t.Now
	}
	fail := func(f failure) Result {
		res.Failed = true
		res.Failure = fmt.Sprintf("%s: %s", f.pos, f.msg)
		return res
	}
	for i, turn := range t.Turns {
		res.Turns = i + 1
		msg := in
		msg.Now = next
		if !turn.Now.IsZero() {
			msg.Now = turn.Now
		}
		msg.Debug = true // a failing turn shows what the bot understood
		label := ""
		var outs []flows.Output
		var err error
		switch {
		case turn.Silence != nil:
			label = "silence " + turn.Silence.Value
			st, outs, err = silence(ctx, e, st, msg, clock, clock.Add(turn.SilenceFor))
			clock = clock.Add(turn.SilenceFor)
			next = clock
		case turn.Photo != nil || turn.File != nil:
			a := testAttachment(turn, i)
			msg.Attachments = []flows.Attachment{a}
			label = fmt.Sprintf("%s %q", map[bool]string{true: "photo", false: "file"}[turn.Photo != nil], a.Name)
			if turn.User != nil {
				msg.Text = turn.User.Value
			}
			st, outs, err = e.Step(ctx, st, msg)
			clock, next = msg.Now, msg.Now.Add(time.Minute)
		case turn.User != nil || turn.Tap != nil:
			if turn.User != nil {
				msg.Text = turn.User.Value
				label = fmt.Sprintf("user %q", msg.Text)
			} else {
				b, ok := findButton(st.Buttons, turn.Tap.Value)
				if !ok {
					return fail(failure{turn.Tap.Pos, fmt.Sprintf("turn %d: no button %q in the last message; buttons: %s", i+1, turn.Tap.Value, buttonList(st.Buttons))})
				}
				msg.Text, msg.Payload = b.Text, b.Value
				label = fmt.Sprintf("tap %q", b.Text)
			}
			st, outs, err = e.Step(ctx, st, msg)
			clock, next = msg.Now, msg.Now.Add(time.Minute)
		case turn.Trigger != nil && turn.Trigger.Flow != nil:
			// The outbound API starts a flow (docs/outbound.md).
			label = "trigger " + turn.Trigger.Flow.Value
			msg.Trigger = &flows.Trigger{Flow: turn.Trigger.Flow.Value, Params: turn.Trigger.Params}
			st, outs, err = e.Step(ctx, st, msg)
			clock, next = msg.Now, msg.Now.Add(time.Minute)
		default:
			return fail(failure{turn.Pos, fmt.Sprintf("turn %d: no customer message", i+1)})
		}
		if err != nil {
			return fail(failure{turn.Pos, fmt.Sprintf("turn %d (%s): %v", i+1, label, err)})
		}
		issueLinkCodes(outs, msg.Now)
		seen(outs, visited, &in.Contact)
		f := check(turn, st, outs)
		if f == nil {
			if w := doer.takeWrong(); len(w) > 0 {
				f = &w[0]
			}
		}
		if f == nil {
			f = checkContact(turn, in.Contact)
		}
		if f != nil {
			f.msg = fmt.Sprintf("turn %d (%s): %s", i+1, label, f.msg)
			if tr := traceOf(outs); tr != nil {
				f.msg += "\nwhat the bot understood:\n  " + strings.ReplaceAll(tr.String(), "\n", "\n  ")
			}
			return fail(*f)
		}
		// A handed-off conversation comes back when the agent returns it,
		// so the script can go on.
		if st.InHandoff && i+1 < len(t.Turns) {
			st, outs, _ = e.Resume(ctx, st, flows.Input{Now: clock, Channel: in.Channel, Contact: in.Contact})
			seen(outs, visited, &in.Contact)
		}
	}
	if unused := doer.unused(); len(unused) > 0 {
		u := unused[0]
		what := u.URL.Value
		if u.Method != nil {
			what = method(u) + " " + what
		}
		return fail(failure{u.Pos, fmt.Sprintf("canned http response %s was never requested", what)})
	}
	if len(doer.unexpected) > 0 {
		return fail(failure{t.Pos, fmt.Sprintf("unexpected http call %s: declare it under http:", doer.unexpected[0])})
	}
	return res
}

// maxTimeouts bounds the timeouts one silence fires (a timeout path that
// waits again with its own timeout fires again within a long silence).
const maxTimeouts = 100

// silence lets the time from `from` to `to` pass without a message: the
// waiting node's timeout fires at its deadline, as the runtime's
// scheduler calls Engine.Timeout, and again while the path it takes waits
// with a deadline inside the silence.
func silence(ctx context.Context, e *flows.Engine, st flows.State, in flows.Input, from, to time.Time) (flows.State, []flows.Output, error) {
	var all []flows.Output
	for range maxTimeouts {
		at, ok := st.WaitDeadline()
		if !ok || at.After(to) || st.InHandoff {
			break
		}
		in.Now = at
		if at.Before(from) {
			in.Now = from
		}
		var outs []flows.Output
		var err error
		if st, outs, err = e.Timeout(ctx, st, in); err != nil {
			return st, all, err
		}
		all = append(all, outs...)
		if d, ok := st.WaitDeadline(); ok && !d.After(at) {
			break // the engine did not move on: do not spin
		}
	}
	return st, all, nil
}

// seen records the nodes a turn entered and applies its contact changes.
func seen(outs []flows.Output, visited map[string]bool, c *flows.Contact) {
	for _, o := range outs {
		if o.Kind == flows.Event && o.Event.Name == "node" {
			visited[o.Event.Flow+"."+o.Event.Node] = true
		}
		if o.Kind == flows.SetContact {
			setContact(c, o.Fields)
		}
	}
}

// setContact applies a flow's contact changes as the runtime does
// (flows.Contact.With).
func setContact(c *flows.Contact, fields map[string]string) {
	*c = c.With(fields)
}

// checkContact compares the contact after a turn with the turn's
// `contact:`, each name read as a flow reads contact.NAME.
func checkContact(turn *syntax.Turn, c flows.Contact) *failure {
	for _, f := range turn.Contact {
		want := eval.Format(f.Val.Any())
		var got string
		var ok bool
		switch f.Key.Value {
		case "name":
			got, ok = c.Name, c.Name != ""
		case "lang":
			got, ok = c.Lang, c.Lang != ""
		case "id":
			got, ok = c.ID, true
		default:
			got, ok = c.Fields[f.Key.Value]
		}
		if !ok && want != "" {
			return &failure{f.Key.Pos, fmt.Sprintf("contact.%s: want %q, it is not set", f.Key.Value, want)}
		}
		if got != want {
			return &failure{f.Val.Pos, fmt.Sprintf("contact.%s: want %q, got %q", f.Key.Value, want, got)}
		}
	}
	return nil
}

// traceOf is the Debug output's trace of a turn, nil without one.
func traceOf(outs []flows.Output) *flows.Trace {
	for _, o := range outs {
		if o.Kind == flows.Debug {
			return o.Trace
		}
	}
	return nil
}

// Conversation tests have no store to issue link codes: a link node's
// message shows LinkCode, valid for LinkTTL.
const (
	LinkCode = "TEST-2345"
	LinkTTL  = 10 * time.Minute
)

// issueLinkCodes turns each link node's request into the message the
// runtime would send, with the stand-in code, so tests check it as a
// bot message.
func issueLinkCodes(outs []flows.Output, now time.Time) {
	for i, o := range outs {
		if o.Kind == flows.LinkCode && o.Link != nil {
			outs[i] = flows.Output{Kind: flows.Say, Text: o.Link.Fill(LinkCode, LinkTTL, now.Add(LinkTTL))}
		}
	}
}

func findButton(bs []flows.Button, s string) (flows.Button, bool) {
	for _, b := range bs {
		if strings.EqualFold(b.Text, s) || b.Value == s {
			return b, true
		}
	}
	return flows.Button{}, false
}

func buttonList(bs []flows.Button) string {
	if len(bs) == 0 {
		return "none"
	}
	var s []string
	for _, b := range bs {
		s = append(s, fmt.Sprintf("%q", b.Text))
	}
	return strings.Join(s, ", ")
}

// check compares one turn's outputs with its expectations.
func check(turn *syntax.Turn, st flows.State, outs []flows.Output) *failure {
	var says []flows.Output
	var handoff *flows.HandoffRequest
	ended := false
	for _, o := range outs {
		switch o.Kind {
		case flows.Say:
			says = append(says, o)
		case flows.Handoff:
			handoff = o.Handoff
		case flows.End:
			ended = true
		}
	}
	if f := checkReplies(turn, says, handoff); f != nil {
		return f
	}
	for _, v := range turn.Vars {
		want := eval.Format(v.Val.Any())
		got, ok := st.Vars[v.Key.Value]
		if !ok {
			return &failure{v.Key.Pos, fmt.Sprintf("variable %s: want %q, it is not set", v.Key.Value, want)}
		}
		if eval.Format(got) != want {
			return &failure{v.Val.Pos, fmt.Sprintf("variable %s: want %q, got %q", v.Key.Value, want, eval.Format(got))}
		}
	}
	if turn.End && !ended {
		return &failure{turn.Pos, "want the conversation to end, it goes on"}
	}
	return nil
}

// checkReplies compares the turn's messages and handoff with what it
// expects. A difference in either shows both, as one diff: the messages
// (those that match once, unchanged) and the handoff with its reason,
// so an unexpected handoff is never an empty diff.
func checkReplies(turn *syntax.Turn, says []flows.Output, got *flows.HandoffRequest) *failure {
	saysOK := !turn.BotSet || len(says) == len(turn.Bot)
	for i := 0; saysOK && turn.BotSet && i < len(says); i++ {
		saysOK = sayMatches(turn.Bot[i], says[i])
	}
	want := turn.Handoff
	var head string
	pos := turn.Pos
	switch {
	case want != nil && got == nil:
		head, pos = fmt.Sprintf("want a handoff (reason %s), got none", want.Reason.Value), want.Pos
	case want == nil && got != nil:
		head = fmt.Sprintf("unexpected handoff (reason %s); add `handoff: %s` to the turn if it is right", got.Reason, got.Reason)
	case want != nil && want.Reason != nil && got.Reason != want.Reason.Value:
		head, pos = fmt.Sprintf("handoff reason: want %q, got %q", want.Reason.Value, got.Reason), want.Reason.Pos
	case want != nil && want.Priority != nil && got.Priority != want.Priority.Value:
		head, pos = fmt.Sprintf("handoff priority: want %q, got %q", want.Priority.Value, got.Priority), want.Priority.Pos
	case want != nil && want.Note != nil && got.Note != want.Note.Value:
		head, pos = fmt.Sprintf("handoff note: want %q, got %q", want.Note.Value, got.Note), want.Note.Pos
	}
	handoffOK := head == ""
	if saysOK && handoffOK {
		return nil
	}
	var b strings.Builder
	if !saysOK {
		head = "bot messages differ"
	}
	b.WriteString(head)
	b.WriteString(" (- want, + got):")
	for _, d := range diffReplies(turn, says) {
		switch {
		case d.want != nil && d.got != nil:
			b.WriteString("\n      " + describeGot(*d.got))
		case d.want != nil:
			b.WriteString("\n    - " + describeWant(d.want))
			if pos == turn.Pos {
				pos = d.want.Pos
			}
		default:
			b.WriteString("\n    + " + describeGot(*d.got))
		}
	}
	switch {
	case handoffOK && got != nil:
		b.WriteString("\n      " + describeHandoff(got))
	case want != nil && got != nil:
		b.WriteString("\n    - " + describeWantHandoff(want))
		b.WriteString("\n    + " + describeHandoff(got))
	case want != nil:
		b.WriteString("\n    - " + describeWantHandoff(want))
	case got != nil:
		b.WriteString("\n    + " + describeHandoff(got))
	}
	return &failure{pos, b.String()}
}

// diffReplies aligns the messages; without `bot:` the turn checks none,
// so every message shows as it is.
func diffReplies(turn *syntax.Turn, says []flows.Output) []sayDiff {
	if !turn.BotSet {
		out := make([]sayDiff, len(says))
		for i := range says {
			out[i] = sayDiff{want: &syntax.ExpectSay{}, got: &says[i]}
		}
		return out
	}
	return diffSays(turn.Bot, says)
}

func describeHandoff(h *flows.HandoffRequest) string {
	s := "handoff " + h.Reason
	if h.Priority != "" {
		s += " (priority " + h.Priority + ")"
	}
	if h.Note != "" {
		s += fmt.Sprintf(" note %q", h.Note)
	}
	return s
}

func describeWantHandoff(h *syntax.ExpectHandoff) string {
	s := "handoff " + h.Reason.Value
	if h.Priority != nil {
		s += " (priority " + h.Priority.Value + ")"
	}
	if h.Note != nil {
		s += fmt.Sprintf(" note %q", h.Note.Value)
	}
	return s
}

// sayDiff is one line of a diff of expected and actual messages: both set
// for a message that matches (whether or not the expectation lists its
// buttons), one of them for a message only that side has.
type sayDiff struct {
	want *syntax.ExpectSay
	got  *flows.Output
}

// diffSays aligns expected and actual messages on their longest common
// run of matches, so a message that is right shows once, unchanged.
func diffSays(want []*syntax.ExpectSay, got []flows.Output) []sayDiff {
	n, m := len(want), len(got)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if sayMatches(want[i], got[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []sayDiff
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && sayMatches(want[i], got[j]):
			out = append(out, sayDiff{want[i], &got[j]})
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, sayDiff{want: want[i]})
			i++
		default:
			out = append(out, sayDiff{got: &got[j]})
			j++
		}
	}
	return out
}

func sayMatches(w *syntax.ExpectSay, g flows.Output) bool {
	if w.Text != nil && strings.TrimSpace(w.Text.Value) != strings.TrimSpace(g.Text) {
		return false
	}
	if w.Contains != nil && !strings.Contains(strings.ToLower(g.Text), strings.ToLower(w.Contains.Value)) {
		return false
	}
	if w.HasButtons {
		if len(w.Buttons) != len(g.Buttons) {
			return false
		}
		for i, b := range w.Buttons {
			if b.Value != g.Buttons[i].Text {
				return false
			}
		}
	}
	return true
}

func describeWant(w *syntax.ExpectSay) string {
	var s string
	switch {
	case w.Text != nil:
		s = fmt.Sprintf("%q", w.Text.Value)
	case w.Contains != nil:
		s = fmt.Sprintf("contains %q", w.Contains.Value)
	default:
		s = "any text"
	}
	if w.HasButtons {
		var l []string
		for _, b := range w.Buttons {
			l = append(l, fmt.Sprintf("%q", b.Value))
		}
		s += " [" + strings.Join(l, ", ") + "]"
	}
	return s
}

func describeGot(o flows.Output) string {
	s := fmt.Sprintf("%q", o.Text)
	if len(o.Buttons) > 0 {
		s += " [" + buttonList(o.Buttons) + "]"
	}
	return s
}

// Write prints the report: one line per test, failures in full, then
// node coverage per flow and a summary.
func (r *Report) Write(w io.Writer, verbose bool) {
	for _, x := range r.Results {
		if x.Failed {
			fmt.Fprintf(w, "--- FAIL: %s (%s)\n    %s\n", x.Name, x.Pos, strings.ReplaceAll(x.Failure, "\n", "\n    "))
		} else if verbose {
			fmt.Fprintf(w, "--- ok:   %s (%s, %d turns)\n", x.Name, x.Pos.File, x.Turns)
		}
	}
	fmt.Fprintln(w, "coverage:")
	width := 0
	for _, c := range r.Coverage {
		width = max(width, len(c.Flow))
	}
	covered, total := 0, 0
	for _, c := range r.Coverage {
		covered += c.Covered
		total += c.Total
		line := fmt.Sprintf("  %-*s %3d/%-3d nodes %3.0f%%", width, c.Flow, c.Covered, c.Total, pct(c.Covered, c.Total))
		if len(c.Missing) > 0 {
			line += "  not visited: " + strings.Join(c.Missing, ", ")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "  %-*s %3d/%-3d nodes %3.0f%%\n", width, "total", covered, total, pct(covered, total))
	if f := r.Failed(); f > 0 {
		fmt.Fprintf(w, "FAIL: %d of %d tests failed\n", f, len(r.Results))
	} else {
		fmt.Fprintf(w, "ok: %d tests passed\n", len(r.Results))
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// testAttachment is the attachment of a photo: or file: turn as the
// runtime would give it to the flow once stored: kind image or file, the
// type by the name's extension, the size given (default 100 KB) and a
// stand-in reference "parley:f_test<turn>".
func testAttachment(turn *syntax.Turn, i int) flows.Attachment {
	name := ""
	if turn.Photo != nil {
		name = turn.Photo.Value
	} else {
		name = turn.File.Value
	}
	ext := strings.ToLower(name)
	if k := strings.LastIndexByte(ext, '.'); k >= 0 {
		ext = ext[k+1:]
	}
	typ := map[string]string{"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
		"webp": "image/webp", "pdf": "application/pdf", "txt": "text/plain; charset=utf-8", "zip": "application/zip",
		"docx": "application/zip", "xlsx": "application/zip", "ogg": "application/ogg", "mp4": "video/mp4"}[ext]
	if typ == "" {
		typ = "application/octet-stream"
	}
	if turn.Photo != nil && !strings.HasPrefix(typ, "image/") {
		typ = "image/jpeg" // a photo is a picture whatever its name says
	}
	kind := "file"
	if strings.HasPrefix(typ, "image/") {
		kind = "image"
	}
	size := int64(turn.Size)
	if size == 0 {
		size = 100 << 10
	}
	return flows.Attachment{Kind: kind, Name: name, Type: typ, Size: size, Ref: fmt.Sprintf("parley:f_test%d", i+1)}
}
