package syntax

import (
	"fmt"
	"strings"
)

// Project is the project file (parley.yaml).
type Project struct {
	File         string
	Name         *Str
	DefaultLang  *Str
	Languages    []*Str
	Start        *Str // start flow
	SafeNode     *Str // "flow.node" where sessions go when their node is gone
	Timezone     *Str // IANA name; `now` is in this zone
	Settings     []Field
	AllowedHosts []*Str
	Secrets      []*Str // names of secrets http nodes read as secret.NAME
	Triggers     []*Trigger
	Escalation   *Escalation
	// ContactFields are contact fields the flows read but do not set
	// (an earlier version of the project set them).
	ContactFields []*Str
	// Handoff is the lead's part of the human queue; nil when absent.
	Handoff *HandoffSettings
	// FilesKeep (files: keep:) is how long customers' and agents' files
	// are kept ("90d", "2160h"); nil when the project does not say.
	FilesKeep *Str
	// Vars are the flow variables agents see, each with its label (one
	// text, or one per language); VarsSet tells an empty list (agents see
	// none) from an absent one (they see all).
	Vars    []*VarLabel
	VarsSet bool
}

// VarLabel is one entry of the project's vars: a variable agents see and
// the words the console shows for it.
type VarLabel struct {
	Name  Str
	Label *Text
}

// Trigger is a global trigger: when If holds for an incoming message, in
// any flow, its action runs instead of the waiting node.
type Trigger struct {
	Path          string
	Pos           Pos
	ID            *Str
	If            *Str
	Goto          *Str // flow or flow.node
	Say           *Text
	Handoff       *Handoff
	Priority      int
	DuringHandoff bool
}

// Escalation is the project's policy for handing a conversation to a human.
type Escalation struct {
	Path          string
	Pos           Pos
	Negative      *Str // condition; "false" disables
	NotUnderstood *Str
	Requested     *Str
	Priority      *Str
}

// Flow is one flow file.
type Flow struct {
	File  string
	Name  *Str
	Start *Str
	Safe  *Str
	Nodes []*Node
	// Params are the trigger params the flow reads (params.NAME) when the
	// outbound API starts it. Triggered is set when the file has a params
	// key (params: [] too): the flow is an entry point of the outbound API.
	Params    []*Str
	Triggered bool
}

// Node kinds. Kinds lists them in a fixed order; tests are driven from it.
const (
	KindSay     = "say"
	KindAsk     = "ask"
	KindWait    = "wait"
	KindSet     = "set"
	KindBranch  = "branch"
	KindGoto    = "goto"
	KindCall    = "call"
	KindHTTP    = "http"
	KindHandoff = "handoff"
	KindEnd     = "end"
	KindLink    = "link"
)

// Kinds is the closed set of node kinds.
var Kinds = []string{KindSay, KindAsk, KindWait, KindSet, KindBranch, KindGoto, KindCall, KindHTTP, KindHandoff, KindEnd, KindLink}

// primary keys decide a node's kind; at most one may appear. "link" is
// also a say node's URL field: it makes a link node only in a node that
// has no other kind (see parseNode).
var primary = []string{KindSay, KindAsk, KindWait, KindHTTP, KindHandoff, KindCall, KindGoto, KindEnd}

// kindFields is, per kind, every field its node may carry.
var kindFields = map[string][]string{
	KindSay:     {"say", "buttons", "image", "link", "record", "next"},
	KindAsk:     {"ask", "buttons", "image", "validate", "retry", "max_retries", "on_fail", "timeout", "on_timeout", "save", "set", "record", "branch", "else", "next"},
	KindWait:    {"wait", "validate", "retry", "max_retries", "on_fail", "timeout", "on_timeout", "save", "set", "record", "branch", "else", "next"},
	KindSet:     {"set", "record", "next"},
	KindBranch:  {"branch", "else"},
	KindGoto:    {"goto"},
	KindCall:    {"call", "next"},
	KindHTTP:    {"http", "next", "on_error"},
	KindHandoff: {"handoff", "next"},
	KindEnd:     {"end"},
	KindLink:    {"link", "next"},
}

// Node is one node of a flow. Which fields are set depends on Kind.
type Node struct {
	ID   Str
	Path string // "nodes.<id>"
	Kind string

	Say     *Text
	Buttons []*Button
	Image   *Str
	Link    *Str
	Next    *Str

	Validate   *Str
	Retry      *Text
	MaxRetries int
	HasRetries bool
	RetriesPos Pos
	OnFail     *Str
	Timeout    *Str
	OnTimeout  *Str
	Save       *Str
	Set        []*Assign
	Branch     []*Case
	Else       *Str
	Goto       *Str
	Call       *Str
	HTTP       *HTTP
	OnError    *Str
	Handoff    *Handoff
	End        bool
	// LinkCode is a link node's offer of a link code; Link above is a say
	// node's URL.
	LinkCode *LinkCode
	// Record is an analytics event the node writes: at entry for say and
	// set nodes, with the accepted answer for ask and wait nodes.
	Record *Record
}

// Record is `record: {name: did_you_mean, data: {answer: '"no"'}}`: an
// event named by the flow, its data computed by expressions.
type Record struct {
	Path string
	Name *Str
	Data []*Assign
}

// LinkCode is a link node: the runtime issues a one-time code that joins
// this conversation with the customer's other channel and sends it in
// Text (its default text when nil). Text may use {{ code }}, {{ minutes }}
// and {{ expires }}, filled by the runtime.
type LinkCode struct {
	Path string
	Pos  Pos
	Text *Text
}

// Text is a message text, either one string for every language or one
// per language.
type Text struct {
	Path  string
	Pos   Pos
	Any   *Str            // the same text for every language
	Langs map[string]*Str // per language
}

// Button is a button or quick reply; Value comes back as the payload.
type Button struct {
	Path  string
	Pos   Pos
	Text  *Text
	Value *Str
}

// Assign is "target: expression" in set, http.save and http.headers.
type Assign struct {
	Path   string
	Target Str
	Expr   *Str
}

// Case is one "if: cond, goto: node" entry of a branch.
type Case struct {
	Path string
	Pos  Pos
	If   *Str
	Goto *Str
}

// HTTP is an http node's request.
type HTTP struct {
	Path    string
	Pos     Pos
	Method  *Str
	URL     *Str
	Headers []*Assign // header: template
	Body    *Value    // JSON body; every string in it is a template
	Timeout *Str
	Save    []*Assign // var: expression over response
}

// Handoff asks for a human.
type Handoff struct {
	Path     string
	Pos      Pos
	Reason   *Str
	Priority *Str
	Note     *Str
}

// ParseProject reads the project file.
func ParseProject(r *Reporter, file string, src []byte) *Project {
	p := &Project{File: file}
	v := ParseValue(r, file, src)
	if v == nil {
		return p
	}
	o := Object(r, v, "", "name", "default_lang", "languages", "start", "safe_node", "timezone", "settings", "allowed_hosts", "secrets", "triggers", "escalation", "contact_fields", "handoff", "files", "vars")
	p.Name = o.ReqStr("name")
	p.DefaultLang = o.Str("default_lang")
	p.Languages = StrList(r, o.Get("languages"), "languages")
	p.Start = o.ReqStr("start")
	p.SafeNode = o.Str("safe_node")
	p.Timezone = o.Str("timezone")
	if sv := o.Get("settings"); sv != nil {
		so := Object(r, sv, "settings")
		for _, f := range so.V.Map {
			so.Get(f.Key.Value)
			if f.Val.Kind != ScalarKind {
				r.Errorf(f.Val.Pos, so.Sub(f.Key.Value), "a setting is a string, number or boolean")
				continue
			}
			p.Settings = append(p.Settings, f)
		}
	}
	p.AllowedHosts = StrList(r, o.Get("allowed_hosts"), "allowed_hosts")
	p.ContactFields = StrList(r, o.Get("contact_fields"), "contact_fields")
	p.Secrets = StrList(r, o.Get("secrets"), "secrets")
	for i, tv := range Seq(r, o.Get("triggers"), "triggers") {
		p.Triggers = append(p.Triggers, parseTrigger(r, tv, fmt.Sprintf("triggers[%d]", i)))
	}
	if ev := o.Get("escalation"); ev != nil {
		eo := Object(r, ev, "escalation", "negative", "not_understood", "requested", "priority")
		p.Escalation = &Escalation{Path: "escalation", Pos: ev.Pos,
			Negative: eo.Str("negative"), NotUnderstood: eo.Str("not_understood"),
			Requested: eo.Str("requested"), Priority: eo.Str("priority")}
		eo.Done()
	}
	if hv := o.Get("handoff"); hv != nil {
		p.Handoff = parseHandoffSettings(r, hv, "handoff")
	}
	if fv := o.Get("files"); fv != nil {
		fo := Object(r, fv, "files", "keep")
		p.FilesKeep = fo.ReqStr("keep")
		fo.Done()
	}
	if vv := o.Get("vars"); vv != nil {
		p.VarsSet = true
		vo := Object(r, vv, "vars")
		for _, f := range vo.V.Map {
			vo.Get(f.Key.Value)
			p.Vars = append(p.Vars, &VarLabel{Name: f.Key, Label: ParseText(r, f.Val, vo.Sub(f.Key.Value))})
		}
	}
	o.Done()
	return p
}

func parseTrigger(r *Reporter, v *Value, path string) *Trigger {
	o := Object(r, v, path, "id", "if", "goto", "say", "handoff", "priority", "during_handoff")
	t := &Trigger{Path: path, Pos: v.Pos}
	t.ID = o.ReqStr("id")
	t.If = o.ReqStr("if")
	t.Goto = o.Str("goto")
	if sv := o.Get("say"); sv != nil {
		t.Say = ParseText(r, sv, o.Sub("say"))
	}
	if hv := o.Get("handoff"); hv != nil {
		t.Handoff = parseHandoff(r, hv, o.Sub("handoff"))
	}
	t.Priority, _, _ = o.Int("priority")
	t.DuringHandoff, _ = o.Bool("during_handoff")
	if t.Goto == nil && t.Handoff == nil && t.Say == nil {
		r.Errorf(v.Pos, path, "a trigger needs an action: goto, say or handoff")
	}
	if t.Goto != nil && t.Handoff != nil {
		r.Errorf(o.KeyPos("handoff"), path, "a trigger either goes to a node or hands off, not both")
	}
	o.Done()
	return t
}

// ParseFlow reads one flow file.
func ParseFlow(r *Reporter, file string, src []byte) *Flow {
	fl := &Flow{File: file}
	v := ParseValue(r, file, src)
	if v == nil {
		return fl
	}
	o := Object(r, v, "", "flow", "start", "safe", "nodes", "description", "params")
	fl.Name = o.ReqStr("flow")
	if pv := o.Get("params"); pv != nil {
		fl.Params, fl.Triggered = StrList(r, pv, "params"), true
	}
	fl.Start = o.ReqStr("start")
	fl.Safe = o.Str("safe")
	o.Str("description")
	nv := o.Get("nodes")
	if nv == nil {
		r.Errorf(v.Pos, "", "missing %q", "nodes")
	}
	no := Object(r, nv, "nodes")
	for _, f := range no.V.Map {
		no.Get(f.Key.Value)
		fl.Nodes = append(fl.Nodes, parseNode(r, f, "nodes."+f.Key.Value))
	}
	o.Done()
	return fl
}

func parseNode(r *Reporter, f Field, path string) *Node {
	n := &Node{ID: f.Key, Path: path}
	if f.Val.Kind != MapKind {
		r.Errorf(f.Val.Pos, path, "a node is a mapping, found a %s", f.Val.Kind)
		return n
	}
	var found []string
	for _, k := range primary {
		for _, fld := range f.Val.Map {
			if fld.Key.Value == k {
				found = append(found, k)
			}
		}
	}
	has := func(k string) bool {
		for _, fld := range f.Val.Map {
			if fld.Key.Value == k {
				return true
			}
		}
		return false
	}
	switch {
	case len(found) > 1:
		r.Errorf(f.Key.Pos, path, "a node has one kind, found %s", strings.Join(found, " and "))
		n.Kind = found[0]
	case len(found) == 1:
		n.Kind = found[0]
	case has(KindLink):
		n.Kind = KindLink
	case has("branch"):
		n.Kind = KindBranch
	case has("set"):
		n.Kind = KindSet
	default:
		r.Errorf(f.Key.Pos, path, "node has no kind: want one of %s", strings.Join(Kinds, ", "))
		return n
	}
	allowed := kindFields[n.Kind]
	o := Object(r, f.Val, path, allowed...)
	for _, fld := range f.Val.Map {
		k := fld.Key.Value
		if !contains(allowed, k) && isField(k) {
			o.Get(k)
			r.Errorf(fld.Key.Pos, join(path, k), "field %q is not allowed in a %s node", k, n.Kind)
		}
	}
	if sv := o.Get("say"); sv != nil {
		n.Say = ParseText(r, sv, o.Sub("say"))
	}
	if sv := o.Get("ask"); sv != nil {
		n.Say = ParseText(r, sv, o.Sub("ask"))
	}
	if wv := o.Get("wait"); wv != nil {
		if wv.Kind != ScalarKind || wv.Type != "bool" || wv.Scalar.Value != "true" {
			r.Errorf(wv.Pos, o.Sub("wait"), "write `wait: true`")
		}
	}
	for i, bv := range Seq(r, o.Get("buttons"), o.Sub("buttons")) {
		n.Buttons = append(n.Buttons, parseButton(r, bv, fmt.Sprintf("%s.buttons[%d]", path, i)))
	}
	n.Image = o.Str("image")
	if n.Kind == KindLink {
		n.LinkCode = parseLinkCode(r, o.Get("link"), o.Sub("link"))
	} else {
		n.Link = o.Str("link")
	}
	n.Next = o.Str("next")
	n.Validate = o.Str("validate")
	if rv := o.Get("retry"); rv != nil {
		n.Retry = ParseText(r, rv, o.Sub("retry"))
	}
	n.MaxRetries, n.RetriesPos, n.HasRetries = o.Int("max_retries")
	n.OnFail = o.Str("on_fail")
	n.Timeout = o.Str("timeout")
	n.OnTimeout = o.Str("on_timeout")
	n.Save = o.Str("save")
	n.Set = parseAssigns(r, o.Get("set"), o.Sub("set"))
	if rv := o.Get("record"); rv != nil {
		ro := Object(r, rv, o.Sub("record"), "name", "data")
		n.Record = &Record{Path: o.Sub("record"), Name: ro.ReqStr("name"), Data: parseAssigns(r, ro.Get("data"), ro.Sub("data"))}
		ro.Done()
	}
	for i, cv := range Seq(r, o.Get("branch"), o.Sub("branch")) {
		cp := fmt.Sprintf("%s.branch[%d]", path, i)
		co := Object(r, cv, cp, "if", "goto")
		n.Branch = append(n.Branch, &Case{Path: cp, Pos: cv.Pos, If: co.ReqStr("if"), Goto: co.ReqStr("goto")})
		co.Done()
	}
	n.Else = o.Str("else")
	n.Goto = o.Str("goto")
	n.Call = o.Str("call")
	if hv := o.Get("http"); hv != nil {
		n.HTTP = parseHTTP(r, hv, o.Sub("http"))
	}
	n.OnError = o.Str("on_error")
	if hv := o.Get("handoff"); hv != nil {
		n.Handoff = parseHandoff(r, hv, o.Sub("handoff"))
	}
	if ev := o.Get("end"); ev != nil {
		if ev.Kind != ScalarKind || ev.Type != "bool" || ev.Scalar.Value != "true" {
			r.Errorf(ev.Pos, o.Sub("end"), "write `end: true`")
		}
		n.End = true
	}
	o.Done()
	return n
}

func isField(k string) bool {
	for _, fs := range kindFields {
		if contains(fs, k) {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// ParseText reads a text: a string, or a mapping of language -> string.
func ParseText(r *Reporter, v *Value, path string) *Text {
	t := &Text{Path: path, Pos: v.Pos}
	switch v.Kind {
	case ScalarKind:
		t.Any = AsStr(r, v, path)
	case MapKind:
		t.Langs = map[string]*Str{}
		for _, f := range v.Map {
			if !isLang(f.Key.Value) {
				r.Errorf(f.Key.Pos, join(path, f.Key.Value), "want a language code such as ru or en")
				continue
			}
			if s := AsStr(r, f.Val, join(path, f.Key.Value)); s != nil {
				t.Langs[f.Key.Value] = s
			}
		}
		if len(t.Langs) == 0 {
			r.Errorf(v.Pos, path, "empty text")
		}
	default:
		r.Errorf(v.Pos, path, "want a text or a mapping of language to text")
	}
	return t
}

func isLang(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func parseButton(r *Reporter, v *Value, path string) *Button {
	b := &Button{Path: path, Pos: v.Pos}
	if v.Kind == ScalarKind {
		// Shorthand: "Доставка" is both the label and the value.
		b.Text = ParseText(r, v, path)
		b.Value = AsStr(r, v, path)
		return b
	}
	o := Object(r, v, path, "text", "value")
	if tv := o.Get("text"); tv != nil {
		b.Text = ParseText(r, tv, o.Sub("text"))
	} else {
		r.Errorf(v.Pos, path, "missing %q", "text")
	}
	b.Value = o.ReqStr("value")
	o.Done()
	return b
}

func parseAssigns(r *Reporter, v *Value, path string) []*Assign {
	if v == nil {
		return nil
	}
	o := Object(r, v, path)
	var out []*Assign
	for _, f := range o.V.Map {
		o.Get(f.Key.Value)
		out = append(out, &Assign{Path: join(path, f.Key.Value), Target: f.Key, Expr: AsStr(r, f.Val, join(path, f.Key.Value))})
	}
	return out
}

func parseHTTP(r *Reporter, v *Value, path string) *HTTP {
	o := Object(r, v, path, "method", "url", "headers", "body", "timeout", "save")
	h := &HTTP{Path: path, Pos: v.Pos}
	h.Method = o.Str("method")
	h.URL = o.ReqStr("url")
	h.Headers = parseAssigns(r, o.Get("headers"), o.Sub("headers"))
	h.Body = o.Get("body")
	h.Timeout = o.Str("timeout")
	h.Save = parseAssigns(r, o.Get("save"), o.Sub("save"))
	o.Done()
	return h
}

// parseLinkCode reads a link node: `link: {}`, `link: true`, or
// `link: {text: ...}`.
func parseLinkCode(r *Reporter, v *Value, path string) *LinkCode {
	l := &LinkCode{Path: path, Pos: v.Pos}
	switch {
	case v.Kind == ScalarKind && v.Type == "bool" && v.Scalar.Value == "true":
	case v.Kind == MapKind:
		o := Object(r, v, path, "text")
		if tv := o.Get("text"); tv != nil {
			l.Text = ParseText(r, tv, o.Sub("text"))
		}
		o.Done()
	case v.Kind == ScalarKind:
		r.Errorf(v.Pos, path, "a link node offers a link code: write `link: {}` or `link: {text: ...}` (a URL under a message goes in a say node's link)")
	default:
		r.Errorf(v.Pos, path, "want `link: {}` or `link: {text: ...}`, found a %s", v.Kind)
	}
	return l
}

func parseHandoff(r *Reporter, v *Value, path string) *Handoff {
	h := &Handoff{Path: path, Pos: v.Pos}
	if v.Kind == ScalarKind {
		h.Reason = AsStr(r, v, path)
		return h
	}
	o := Object(r, v, path, "reason", "priority", "note")
	h.Reason = o.ReqStr("reason")
	h.Priority = o.Str("priority")
	h.Note = o.Str("note")
	o.Done()
	return h
}
