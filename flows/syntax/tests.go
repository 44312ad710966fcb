package syntax

import "fmt"

// TestFile is one conversation-test file (tests/*.yaml).
type TestFile struct {
	File  string
	Tests []*Test
}

// Test is one scripted conversation.
type Test struct {
	Path    string
	Pos     Pos
	Name    *Str
	Channel *Str
	Contact *TestContact
	HTTP    []*Canned
	Turns   []*Turn
}

// TestContact describes the customer of a test.
type TestContact struct {
	ID, Name, Lang *Str
	Fields         []Field
}

// Canned is a prepared answer to an http node's call; tests never reach
// the network.
type Canned struct {
	Path   string
	Pos    Pos
	Method *Str
	URL    *Str // exact URL, or a prefix ending in "*"
	Status int
	Body   *Value
	Fail   bool // the call fails as if the server were unreachable
}

// Turn is one customer message and what must follow it.
type Turn struct {
	Path    string
	Pos     Pos
	User    *Str // typed text
	Tap     *Str // a button of the last message, by label or value
	Bot     []*ExpectSay
	BotSet  bool
	Handoff *ExpectHandoff
	Vars    []Field
	End     bool
}

// ExpectSay is one expected bot message: exact text or a part of it, and
// optionally its buttons (labels).
type ExpectSay struct {
	Path       string
	Pos        Pos
	Text       *Str
	Contains   *Str
	Buttons    []*Str
	HasButtons bool
}

// ExpectHandoff is the expected handoff.
type ExpectHandoff struct {
	Pos      Pos
	Reason   *Str
	Priority *Str
}

// ParseTests reads one conversation-test file.
func ParseTests(r *Reporter, file string, src []byte) *TestFile {
	v := ParseValue(r, file, src)
	if v == nil {
		return &TestFile{File: file}
	}
	return TestsOf(r, file, v)
}

// TestsOf reads a parsed conversation-test file.
func TestsOf(r *Reporter, file string, v *Value) *TestFile {
	tf := &TestFile{File: file}
	o := Object(r, v, "", "tests")
	for i, tv := range Seq(r, o.Get("tests"), "tests") {
		tf.Tests = append(tf.Tests, parseTest(r, tv, fmt.Sprintf("tests[%d]", i)))
	}
	o.Done()
	return tf
}

func parseTest(r *Reporter, v *Value, path string) *Test {
	o := Object(r, v, path, "name", "channel", "contact", "http", "turns")
	t := &Test{Path: path, Pos: v.Pos, Name: o.ReqStr("name"), Channel: o.Str("channel")}
	if cv := o.Get("contact"); cv != nil {
		co := Object(r, cv, o.Sub("contact"), "id", "name", "lang", "fields")
		t.Contact = &TestContact{ID: co.Str("id"), Name: co.Str("name"), Lang: co.Str("lang")}
		if fv := co.Get("fields"); fv != nil {
			fo := Object(r, fv, co.Sub("fields"))
			for _, f := range fo.V.Map {
				fo.Get(f.Key.Value)
				t.Contact.Fields = append(t.Contact.Fields, f)
			}
		}
		co.Done()
	}
	t.HTTP = parseCanned(r, o.Get("http"), o.Sub("http"))
	for i, tv := range Seq(r, o.Get("turns"), o.Sub("turns")) {
		t.Turns = append(t.Turns, parseTurn(r, tv, fmt.Sprintf("%s.turns[%d]", path, i)))
	}
	if len(t.Turns) == 0 {
		r.Errorf(v.Pos, path, "a test needs turns")
	}
	o.Done()
	return t
}

// parseCanned reads a list of canned http answers.
func parseCanned(r *Reporter, v *Value, path string) []*Canned {
	var out []*Canned
	for i, hv := range Seq(r, v, path) {
		hp := fmt.Sprintf("%s[%d]", path, i)
		ho := Object(r, hv, hp, "method", "url", "status", "body", "fail")
		c := &Canned{Path: hp, Pos: hv.Pos, Method: ho.Str("method"), URL: ho.ReqStr("url"), Status: 200}
		if n, _, ok := ho.Int("status"); ok {
			c.Status = n
		}
		c.Body = ho.Get("body")
		c.Fail, _ = ho.Bool("fail")
		ho.Done()
		out = append(out, c)
	}
	return out
}

func parseTurn(r *Reporter, v *Value, path string) *Turn {
	o := Object(r, v, path, "user", "tap", "bot", "handoff", "vars", "end")
	t := &Turn{Path: path, Pos: v.Pos, User: o.Str("user"), Tap: o.Str("tap")}
	switch {
	case t.User != nil && t.Tap != nil:
		r.Errorf(o.KeyPos("tap"), path, "a turn has either `user: TEXT` or `tap: BUTTON`, not both")
	case t.User == nil && t.Tap == nil && !o.Has("user") && !o.Has("tap"):
		r.Errorf(v.Pos, path, "a turn needs `user: TEXT` or `tap: BUTTON`")
	}
	if bv := o.Get("bot"); bv != nil {
		t.BotSet = true
		for i, sv := range Seq(r, bv, o.Sub("bot")) {
			t.Bot = append(t.Bot, parseExpectSay(r, sv, fmt.Sprintf("%s.bot[%d]", path, i)))
		}
	}
	if hv := o.Get("handoff"); hv != nil {
		h := &ExpectHandoff{Pos: hv.Pos}
		if hv.Kind == ScalarKind {
			h.Reason = AsStr(r, hv, o.Sub("handoff"))
		} else {
			ho := Object(r, hv, o.Sub("handoff"), "reason", "priority")
			h.Reason = ho.ReqStr("reason")
			h.Priority = ho.Str("priority")
			ho.Done()
		}
		t.Handoff = h
	}
	if vv := o.Get("vars"); vv != nil {
		vo := Object(r, vv, o.Sub("vars"))
		for _, f := range vo.V.Map {
			vo.Get(f.Key.Value)
			t.Vars = append(t.Vars, f)
		}
	}
	t.End, _ = o.Bool("end")
	o.Done()
	return t
}

func parseExpectSay(r *Reporter, v *Value, path string) *ExpectSay {
	e := &ExpectSay{Path: path, Pos: v.Pos}
	if v.Kind == ScalarKind {
		e.Text = AsStr(r, v, path)
		return e
	}
	o := Object(r, v, path, "text", "contains", "buttons")
	e.Text = o.Str("text")
	e.Contains = o.Str("contains")
	if bv := o.Get("buttons"); bv != nil {
		e.HasButtons = true
		e.Buttons = StrList(r, bv, o.Sub("buttons"))
	}
	if e.Text != nil && e.Contains != nil {
		r.Errorf(v.Pos, path, "use either text or contains")
	}
	o.Done()
	return e
}
