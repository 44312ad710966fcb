package syntax

import (
	"fmt"
	"time"
)

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
	// Now is the clock of the first turn (zero: the runner's default);
	// later turns come a minute apart unless they set their own.
	Now time.Time
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
	// Request, when present, is what the call must send.
	Request *ExpectRequest
}

// ExpectRequest is what an http node's call must carry: these headers
// (others may be present) and exactly this JSON body.
type ExpectRequest struct {
	Path    string
	Pos     Pos
	Headers []Field
	Body    *Value
}

// Turn is one customer message and what must follow it.
type Turn struct {
	Path string
	Pos  Pos
	User *Str // typed text
	Tap  *Str // a button of the last message, by label or value
	// Silence lets time pass without a message: a waiting node whose
	// timeout falls inside it times out, as the runtime would make it.
	Silence    *Str
	SilenceFor time.Duration
	// Photo and File send an attachment (a picture or another file) by
	// name, with the User text if given; Size is its size in bytes.
	Photo, File *Str
	Size        int
	// Trigger starts a flow from outside, as the outbound API does:
	// `trigger: {flow: shipped, params: {order: A-17}}`.
	Trigger *TestTrigger
	// Now is this turn's clock (zero: a minute after the previous one).
	Now     time.Time
	Bot     []*ExpectSay
	BotSet  bool
	Handoff *ExpectHandoff
	Vars    []Field
	// Contact is the contact after the turn: name, lang or a field,
	// each as a flow reads it (contact.name, contact.address).
	Contact []Field
	End     bool
}

// TestTrigger is a trigger turn's flow and params.
type TestTrigger struct {
	Flow   *Str
	Params map[string]any
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
	Note     *Str // the note the agent reads with the ticket
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
	o := Object(r, v, path, "name", "channel", "contact", "now", "http", "turns")
	t := &Test{Path: path, Pos: v.Pos, Name: o.ReqStr("name"), Channel: o.Str("channel")}
	t.Now = parseTime(r, o.Str("now"), o.Sub("now"))
	if cv := o.Get("contact"); cv != nil {
		co := Object(r, cv, o.Sub("contact"), "id", "name", "lang", "fields")
		t.Contact = &TestContact{ID: co.Str("id"), Name: co.Str("name"), Lang: co.Str("lang")}
		t.Contact.Fields = freeFields(r, co.Get("fields"), co.Sub("fields"))
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
		ho := Object(r, hv, hp, "method", "url", "status", "body", "fail", "request")
		c := &Canned{Path: hp, Pos: hv.Pos, Method: ho.Str("method"), URL: ho.ReqStr("url"), Status: 200}
		if n, _, ok := ho.Int("status"); ok {
			c.Status = n
		}
		c.Body = ho.Get("body")
		c.Fail, _ = ho.Bool("fail")
		if rv := ho.Get("request"); rv != nil {
			ro := Object(r, rv, ho.Sub("request"), "headers", "body")
			c.Request = &ExpectRequest{Path: ho.Sub("request"), Pos: rv.Pos, Body: ro.Get("body")}
			if hv := ro.Get("headers"); hv != nil {
				hdr := Object(r, hv, ro.Sub("headers"))
				for _, f := range hdr.V.Map {
					hdr.Get(f.Key.Value)
					if f.Val.Kind != ScalarKind {
						r.Errorf(f.Val.Pos, hdr.Sub(f.Key.Value), "a header's value is a string")
						continue
					}
					c.Request.Headers = append(c.Request.Headers, f)
				}
			}
			ro.Done()
		}
		ho.Done()
		out = append(out, c)
	}
	return out
}

func parseTurn(r *Reporter, v *Value, path string) *Turn {
	o := Object(r, v, path, "user", "tap", "silence", "photo", "file", "size", "trigger", "now", "bot", "handoff", "vars", "contact", "end")
	t := &Turn{Path: path, Pos: v.Pos, User: o.Str("user"), Tap: o.Str("tap"), Silence: o.Str("silence"),
		Photo: o.Str("photo"), File: o.Str("file")}
	t.Now = parseTime(r, o.Str("now"), o.Sub("now"))
	var kinds []string
	for _, k := range []string{"user", "tap", "silence", "photo", "file", "trigger"} {
		if o.Has(k) {
			kinds = append(kinds, k)
		}
	}
	// An attachment may come with typed text (a photo with a caption).
	if len(kinds) == 2 && kinds[0] == "user" && (kinds[1] == "photo" || kinds[1] == "file") {
		kinds = kinds[1:]
	}
	switch {
	case len(kinds) > 1:
		r.Errorf(o.KeyPos(kinds[1]), path, "a turn is one of `user: TEXT`, `tap: BUTTON`, `silence: DURATION`, `photo: NAME`, `file: NAME` or `trigger: {flow: F}`, found %s and %s", kinds[0], kinds[1])
	case len(kinds) == 0:
		r.Errorf(v.Pos, path, "a turn needs `user: TEXT`, `tap: BUTTON`, `silence: DURATION`, `photo: NAME`, `file: NAME` or `trigger: {flow: F}`")
	}
	if n, p, ok := o.Int("size"); ok {
		switch {
		case t.Photo == nil && t.File == nil:
			r.Errorf(p, o.Sub("size"), "`size` goes with `photo:` or `file:`")
		case n <= 0:
			r.Errorf(p, o.Sub("size"), "want the file's size in bytes, more than 0; found %d", n)
		}
		t.Size = n
	}
	if tv := o.Get("trigger"); tv != nil {
		to := Object(r, tv, o.Sub("trigger"), "flow", "params")
		t.Trigger = &TestTrigger{Flow: to.ReqStr("flow")}
		if pv := to.Get("params"); pv != nil {
			if m, ok := pv.Any().(map[string]any); ok {
				t.Trigger.Params = m
			} else {
				r.Errorf(pv.Pos, to.Sub("params"), "params are a mapping: {order: A-17}")
			}
		}
		to.Done()
	}
	if t.Silence != nil {
		d, err := time.ParseDuration(t.Silence.Value)
		switch {
		case err != nil || d <= 0:
			r.Errorf(t.Silence.Pos, o.Sub("silence"), "want a duration such as 10m or 2h, found %q", t.Silence.Value)
		case !t.Now.IsZero():
			r.Errorf(o.KeyPos("now"), path, "a silence lasts from the previous turn: it takes no `now`")
		}
		t.SilenceFor = d
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
			ho := Object(r, hv, o.Sub("handoff"), "reason", "priority", "note")
			h.Reason = ho.ReqStr("reason")
			h.Priority = ho.Str("priority")
			h.Note = ho.Str("note")
			ho.Done()
		}
		t.Handoff = h
	}
	t.Vars = freeFields(r, o.Get("vars"), o.Sub("vars"))
	t.Contact = freeFields(r, o.Get("contact"), o.Sub("contact"))
	t.End, _ = o.Bool("end")
	o.Done()
	return t
}

// freeFields reads a mapping whose keys are the writer's (variables,
// contact fields): nil when v is absent or empty.
func freeFields(r *Reporter, v *Value, path string) []Field {
	if v == nil {
		return nil
	}
	return append([]Field(nil), Object(r, v, path).V.Map...)
}

// parseTime reads a test's clock: RFC 3339 with its offset
// (2026-12-07T22:30:00+03:00).
func parseTime(r *Reporter, s *Str, path string) time.Time {
	if s == nil {
		return time.Time{}
	}
	tm, err := time.Parse(time.RFC3339, s.Value)
	if err != nil {
		r.Errorf(s.Pos, path, "want a time such as 2026-12-07T22:30:00+03:00, found %q", s.Value)
	}
	return tm
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
