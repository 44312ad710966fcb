package flows

import (
	// The time zone database is built in, so `timezone:` works on a
	// machine without one.
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

var (
	idRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	varRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// Handoff priorities, lowest first.
var priorities = []string{"low", "normal", "high", "urgent"}

type compiler struct {
	r     *syntax.Reporter
	ec    eval.Compiler
	p     *Project
	files map[string]*syntax.Flow
	// incomplete is set when a flow file could not be read at all: its
	// flow is unknown, so "unknown flow" and "unused" would be noise.
	incomplete bool
	// flowPos is where each flow is named, for messages.
	flowPos map[string]syntax.Pos
}

func newCompiler(r *syntax.Reporter) *compiler {
	hints := map[string]string{}
	for _, s := range linkSlots {
		hints[s] = fmt.Sprintf(linkSlotHint, s)
	}
	return &compiler{r: r, ec: eval.Compiler{R: r, Hints: hints}, files: map[string]*syntax.Flow{}, flowPos: map[string]syntax.Pos{}}
}

func (c *compiler) errorf(pos syntax.Pos, path, format string, args ...any) {
	c.r.Errorf(pos, path, format, args...)
}

func (c *compiler) project(pf *syntax.Project, fls []*syntax.Flow, faq *syntax.FAQ) *Project {
	p := &Project{flows: map[string]*flow{}, settings: map[string]any{}}
	c.p = p
	if pf.Name != nil {
		p.Name = pf.Name.Value
	}
	for _, l := range pf.Languages {
		if !isLangCode(l.Value) {
			c.errorf(l.Pos, "languages", "%q is not a language code such as ru or en", l.Value)
			continue
		}
		if slices.Contains(p.Languages, l.Value) {
			c.errorf(l.Pos, "languages", "duplicate language %q", l.Value)
			continue
		}
		p.Languages = append(p.Languages, l.Value)
	}
	switch {
	case pf.DefaultLang != nil:
		p.DefaultLang = pf.DefaultLang.Value
		if len(p.Languages) == 0 {
			p.Languages = []string{p.DefaultLang}
		} else if !slices.Contains(p.Languages, p.DefaultLang) {
			c.errorf(pf.DefaultLang.Pos, "default_lang", "default language %q is not in languages [%s]", p.DefaultLang, strings.Join(p.Languages, ", "))
		}
	case len(p.Languages) > 0:
		p.DefaultLang = p.Languages[0]
	default:
		p.DefaultLang, p.Languages = "ru", []string{"ru"}
	}
	p.loc = time.UTC
	if pf.Timezone != nil {
		loc, err := time.LoadLocation(pf.Timezone.Value)
		if err != nil || pf.Timezone.Value == "" || pf.Timezone.Value == "Local" {
			c.errorf(pf.Timezone.Pos, "timezone", "unknown time zone %q: want an IANA name such as Europe/Moscow", pf.Timezone.Value)
		} else {
			p.loc = loc
		}
	}
	for _, f := range pf.Settings {
		p.settings[f.Key.Value] = f.Val.Any()
	}
	for _, h := range pf.AllowedHosts {
		if h.Value == "" || strings.ContainsAny(h.Value, "/ ") {
			c.errorf(h.Pos, "allowed_hosts", "want a host name such as orders.example.com, found %q", h.Value)
			continue
		}
		p.allowedHosts = append(p.allowedHosts, strings.ToLower(h.Value))
	}

	c.ec.Secrets = map[string]bool{}
	for _, n := range pf.Secrets {
		if !isSecretName(n.Value) {
			c.errorf(n.Pos, "secrets", "want a secret name such as orders_token (lower case letters, digits, _), found %q", n.Value)
			continue
		}
		if c.ec.Secrets[n.Value] {
			c.errorf(n.Pos, "secrets", "duplicate secret %q", n.Value)
			continue
		}
		c.ec.Secrets[n.Value] = true
		p.secrets = append(p.secrets, n.Value)
	}

	// Every variable the project sets and every setting: reading another is
	// a typo, reported where it is read.
	c.ec.Vars, c.ec.Settings, c.ec.Contact = map[string]bool{}, map[string]bool{}, map[string]bool{}
	for k := range p.settings {
		c.ec.Settings[k] = true
	}
	for _, sf := range fls {
		for _, sn := range sf.Nodes {
			if sn.Save != nil {
				c.ec.Vars[sn.Save.Value] = true
			}
			as := sn.Set
			if sn.HTTP != nil {
				as = append(slices.Clip(as), sn.HTTP.Save...)
			}
			for _, a := range as {
				if name, ok := strings.CutPrefix(a.Target.Value, "vars."); ok {
					c.ec.Vars[name] = true
				} else if name, ok := contactField(a.Target.Value); ok {
					c.ec.Contact[name] = true
				} else {
					c.ec.Vars[a.Target.Value] = true
				}
			}
		}
	}
	c.ec.Params = map[string]bool{}
	for _, sf := range fls {
		for _, pn := range sf.Params {
			if !varRE.MatchString(pn.Value) {
				c.errorf(pn.Pos, "params", "want a param name such as order_id (letters, digits, _), found %q", pn.Value)
			}
			c.ec.Params[pn.Value] = true
		}
	}
	for _, f := range pf.ContactFields {
		if !varRE.MatchString(f.Value) {
			c.errorf(f.Pos, "contact_fields", "want a field name such as address (letters, digits, _), found %q", f.Value)
		}
		c.ec.Contact[f.Value] = true
	}
	// Declare every flow and node first so references resolve in any order.
	for _, sf := range fls {
		if sf.Name == nil {
			c.incomplete = true
		}
		c.declare(sf)
	}
	for _, sf := range fls {
		if sf.Name != nil && c.files[sf.Name.Value] == sf {
			c.flow(sf)
		}
	}
	if pf.Start != nil {
		p.StartFlow = pf.Start.Value
		if _, ok := p.flows[p.StartFlow]; !ok && !c.incomplete {
			c.errorf(pf.Start.Pos, "start", "unknown start flow %q%s", p.StartFlow, c.flowHint(p.StartFlow))
		}
	}
	if pf.SafeNode != nil {
		if n := c.resolve(nil, pf.SafeNode, "safe_node", true); n != nil {
			p.safe = n
			p.SafeNode = n.ref()
		}
	} else if f := p.flows[p.StartFlow]; f != nil && f.start != nil {
		p.safe = f.start
		p.SafeNode = f.start.ref()
	}
	c.triggers(pf)
	if pf.Handoff != nil {
		p.handoff = c.handoffSettings(pf.Handoff, pf.Timezone)
	}
	if k := pf.FilesKeep; k != nil {
		p.filesKeep = parseKeep(k.Value)
		if p.filesKeep <= 0 {
			c.errorf(k.Pos, "files.keep", "want how long files are kept, such as 90d or 720h; found %q", k.Value)
		}
	}
	if pf.VarsSet {
		p.agentVars = c.agentVars(pf.Vars)
	}
	if faq != nil {
		p.understand = c.faq(faq)
	}
	c.finishUnderstanding()
	c.checkLiterals()
	if !c.incomplete {
		c.reachability()
	}
	c.loops()
	return p
}

func isLangCode(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

func (c *compiler) declare(sf *syntax.Flow) {
	if sf.Name == nil {
		return
	}
	name := sf.Name.Value
	if !idRE.MatchString(name) {
		c.errorf(sf.Name.Pos, "flow", "flow name %q: want letters, digits and _, starting with a letter", name)
		return
	}
	if prev, dup := c.files[name]; dup {
		c.errorf(sf.Name.Pos, "flow", "duplicate flow %q (also in %s)", name, prev.File)
		return
	}
	c.files[name] = sf
	c.flowPos[name] = sf.Name.Pos
	f := &flow{name: name, file: sf.File, nodes: map[string]*node{}}
	if len(sf.Nodes) > MaxNodesPerFlow {
		c.errorf(sf.Name.Pos, "nodes", "%d nodes, limit %d per flow", len(sf.Nodes), MaxNodesPerFlow)
	}
	for _, sn := range sf.Nodes {
		if !idRE.MatchString(sn.ID.Value) {
			c.errorf(sn.ID.Pos, sn.Path, "node id %q: want letters, digits and _, starting with a letter", sn.ID.Value)
			continue
		}
		n := &node{id: sn.ID.Value, flow: f, path: sn.Path}
		f.nodes[n.id] = n
		f.order = append(f.order, n)
	}
	c.p.flows[name] = f
	c.p.flowNames = append(c.p.flowNames, name)
	slices.Sort(c.p.flowNames)
}

func (c *compiler) flow(sf *syntax.Flow) {
	f := c.p.flows[sf.Name.Value]
	if sf.Start != nil {
		f.start = c.resolve(f, sf.Start, "start", false)
	}
	if sf.Safe != nil {
		f.safe = c.resolve(f, sf.Safe, "safe", false)
	}
	for _, sn := range sf.Nodes {
		if n := f.nodes[sn.ID.Value]; n != nil && sn.Kind != "" {
			c.node(f, n, sn)
		}
	}
}

// resolve finds the node a reference names: "node" in flow f, or
// "flow.node" anywhere; with allowFlow a bare flow name means its start.
func (c *compiler) resolve(f *flow, s *syntax.Str, path string, allowFlow bool) *node {
	if s == nil {
		return nil
	}
	v := strings.TrimSpace(s.Value)
	fname, nid, qualified := strings.Cut(v, ".")
	if !qualified {
		if allowFlow || f == nil {
			if tf, ok := c.p.flows[v]; ok {
				if tf.start == nil {
					// The flow's own start error is reported with it.
					return nil
				}
				return tf.start
			}
			if f == nil {
				c.errorf(s.Pos, path, "unknown flow %q%s", v, c.flowHint(v))
				return nil
			}
		}
		if n, ok := f.nodes[v]; ok {
			return n
		}
		c.errorf(s.Pos, path, "unknown node %q in flow %q%s", v, f.name, hint(v, keys(f.nodes)))
		return nil
	}
	tf, ok := c.p.flows[fname]
	if !ok {
		c.errorf(s.Pos, path, "unknown flow %q in %q%s", fname, v, c.flowHint(fname))
		return nil
	}
	if n, ok := tf.nodes[nid]; ok {
		return n
	}
	c.errorf(s.Pos, path, "unknown node %q in flow %q%s", nid, fname, hint(nid, keys(tf.nodes)))
	return nil
}

func (c *compiler) flowHint(name string) string { return hint(name, c.p.flowNames) }

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// hint suggests the closest known name.
func hint(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := syntax.EditDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func (c *compiler) node(f *flow, n *node, sn *syntax.Node) {
	n.kind = kind(slices.Index(syntax.Kinds, sn.Kind))
	p := sn.Path
	if sn.Say != nil {
		n.say = c.text(sn.Say)
	}
	if len(sn.Buttons) > MaxButtons {
		c.errorf(sn.Buttons[MaxButtons].Pos, p+".buttons", "%d buttons, limit %d per message", len(sn.Buttons), MaxButtons)
	}
	seen := map[string]bool{}
	for _, sb := range sn.Buttons {
		b := button{}
		if sb.Text != nil {
			b.text = c.textLimit(sb.Text, MaxButtonText)
		}
		if sb.Value != nil {
			b.value = sb.Value.Value
			switch {
			case b.value == "":
				c.errorf(sb.Value.Pos, sb.Path, "empty button value")
			case len(b.value) > MaxButtonValue:
				c.errorf(sb.Value.Pos, sb.Path, "button value is %d bytes, limit %d (Telegram's callback_data)", len(b.value), MaxButtonValue)
			case seen[b.value]:
				c.errorf(sb.Value.Pos, sb.Path, "duplicate button value %q", b.value)
			}
			seen[b.value] = true
		}
		n.buttons.items = append(n.buttons.items, b)
	}
	n.buttons.static = c.staticLabels(n.buttons.items)
	n.image = c.ec.Template(sn.Image, p+".image")
	n.link = c.ec.Template(sn.Link, p+".link")
	n.next = c.resolve(f, sn.Next, p+".next", false)
	n.validate = c.ec.Cond(sn.Validate, p+".validate")
	if sn.Retry != nil {
		n.retry = c.text(sn.Retry)
	}
	if sn.HasRetries {
		if sn.MaxRetries < 0 || sn.MaxRetries > 100 {
			c.errorf(sn.RetriesPos, p+".max_retries", "want 0 to 100, found %d", sn.MaxRetries)
		}
		n.maxRetries = sn.MaxRetries
	}
	n.onFail = c.resolve(f, sn.OnFail, p+".on_fail", false)
	if sn.OnFail != nil && !sn.HasRetries {
		c.errorf(sn.OnFail.Pos, p+".on_fail", "on_fail needs max_retries (how many wrong answers before giving up)")
	}
	if sn.Timeout != nil {
		n.timeout = c.duration(sn.Timeout, p+".timeout", time.Second, 30*24*time.Hour)
		if sn.OnTimeout == nil {
			c.errorf(sn.Timeout.Pos, p+".timeout", "a timeout needs on_timeout: where to go when it expires")
		}
	}
	n.onTimeout = c.resolve(f, sn.OnTimeout, p+".on_timeout", false)
	if sn.OnTimeout != nil && sn.Timeout == nil {
		c.errorf(sn.OnTimeout.Pos, p+".on_timeout", "on_timeout needs a timeout such as 10m")
	}
	if sn.Save != nil {
		if !varRE.MatchString(sn.Save.Value) {
			c.errorf(sn.Save.Pos, p+".save", "variable name %q: want letters, digits and _", sn.Save.Value)
		}
		n.save = sn.Save.Value
	}
	n.set = c.assigns(sn.Set, true)
	n.record = c.record(sn.Record)
	for _, sc := range sn.Branch {
		bc := branchCase{cond: c.ec.Cond(sc.If, sc.Path+".if"), target: c.resolve(f, sc.Goto, sc.Path+".goto", false)}
		n.cases = append(n.cases, bc)
	}
	n.els = c.resolve(f, sn.Else, p+".else", false)
	n.target = c.resolve(f, sn.Goto, p+".goto", false)
	if sn.Call != nil {
		if cf, ok := c.p.flows[sn.Call.Value]; ok {
			n.call = cf
		} else {
			c.errorf(sn.Call.Pos, p+".call", "unknown flow %q%s", sn.Call.Value, c.flowHint(sn.Call.Value))
		}
	}
	if sn.HTTP != nil {
		n.http = c.http(sn.HTTP)
		if sn.OnError == nil {
			c.errorf(sn.ID.Pos, p, "an http node needs on_error: where to go when the call fails")
		}
	}
	n.onError = c.resolve(f, sn.OnError, p+".on_error", false)
	if sn.Handoff != nil {
		n.handoff = c.handoff(sn.Handoff)
	}
	if sn.LinkCode != nil && sn.LinkCode.Text != nil {
		n.linkText = c.linkText(sn.LinkCode.Text)
	}
	switch n.kind {
	case kAsk, kWait:
		// Without next, branch or else the answer ends the flow, like any
		// node without next: a sub-flow's last question returns to its caller.
		if n.kind == kWait && len(sn.Branch) > 0 && sn.Next == nil && sn.Else == nil && sn.Retry == nil {
			c.errorf(sn.ID.Pos, p, "this wait says nothing when no branch matches: add else or retry")
		}
		if sn.Retry != nil && sn.Validate == nil && len(sn.Branch) == 0 {
			c.errorf(sn.Retry.Pos, p+".retry", "retry is said when validation fails or no branch matches, but this node has neither")
		}
	case kBranch:
		if len(sn.Branch) == 0 {
			c.errorf(sn.ID.Pos, p+".branch", "empty branch")
		}
		if sn.Else == nil {
			c.errorf(sn.ID.Pos, p, "a branch node needs else: where to go when no condition holds")
		}
	case kSet:
		if len(sn.Set) == 0 {
			c.errorf(sn.ID.Pos, p+".set", "empty set")
		}
	}
}

func (c *compiler) duration(s *syntax.Str, path string, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(s.Value)
	if err != nil {
		c.errorf(s.Pos, path, "want a duration such as 30s, 10m or 2h, found %q", s.Value)
		return 0
	}
	if d < lo || d > hi {
		c.errorf(s.Pos, path, "duration %s out of range %s..%s", d, lo, hi)
	}
	return d
}

func (c *compiler) text(t *syntax.Text) *text { return c.textLimit(t, MaxTextLen) }

// textLimit compiles a text whose every language is at most limit
// characters; slots are holes the runtime fills (TemplateSlots).
func (c *compiler) textLimit(t *syntax.Text, limit int, slots ...string) *text {
	out := &text{}
	one := func(s *syntax.Str, path string) *eval.Template {
		if n := eval.RuneLen(s.Value); n > limit {
			c.errorf(s.Pos, path, "text is %d characters, limit %d", n, limit)
		}
		if strings.TrimSpace(s.Value) == "" {
			c.errorf(s.Pos, path, "empty text")
		}
		return c.ec.TemplateSlots(s, path, slots...)
	}
	if t.Any != nil {
		out.any = one(t.Any, t.Path)
		return out
	}
	if len(t.Langs) == 0 {
		return out
	}
	out.langs = map[string]*eval.Template{}
	for _, l := range keys(t.Langs) {
		s := t.Langs[l]
		if !slices.Contains(c.p.Languages, l) {
			c.errorf(s.Pos, t.Path+"."+l, "language %q is not in the project's languages [%s]", l, strings.Join(c.p.Languages, ", "))
			continue
		}
		out.langs[l] = one(s, t.Path+"."+l)
	}
	if _, ok := t.Langs[c.p.DefaultLang]; !ok {
		c.errorf(t.Pos, t.Path, "no text in the default language %q", c.p.DefaultLang)
		return out
	}
	for _, l := range c.p.Languages {
		if _, ok := t.Langs[l]; !ok {
			c.r.Warnf(t.Pos, t.Path, "no text in %q: customers writing in it get the %q text", l, c.p.DefaultLang)
		}
	}
	return out
}

// staticLabels renders, for each language, buttons whose labels have no
// holes, as renderText would; nil when some label has one.
func (c *compiler) staticLabels(bs []button) map[string][]Button {
	if len(bs) == 0 {
		return nil
	}
	out := make(map[string][]Button, len(c.p.Languages))
	for _, l := range c.p.Languages {
		list := make([]Button, len(bs))
		for i, b := range bs {
			var tm *eval.Template
			if b.text != nil {
				tm = b.text.any
				if b.text.langs != nil {
					if tm = b.text.langs[l]; tm == nil {
						tm = b.text.langs[c.p.DefaultLang]
					}
				}
			}
			if tm != nil && !tm.Static {
				return nil
			}
			if tm != nil {
				list[i].Text, _ = tm.Render(nil, nil)
			}
			list[i].Value = b.value
		}
		out[l] = list
	}
	return out
}

// contactField is the field a set target names: contact.address and
// contact.fields.address are both the stored field address (the one way
// expressions read it back is contact.address).
func contactField(target string) (string, bool) {
	rest, ok := strings.CutPrefix(target, "contact.")
	if !ok {
		return "", false
	}
	if f, ok := strings.CutPrefix(rest, "fields."); ok {
		return f, true
	}
	return rest, true
}

func (c *compiler) assigns(as []*syntax.Assign, allowContact bool) []assign {
	var out []assign
	for _, a := range as {
		t := a.Target.Value
		x := assign{name: t}
		if rest, ok := contactField(t); ok && allowContact {
			x.contact, x.name = true, rest
			if rest == "id" || rest == "fields" {
				c.errorf(a.Target.Pos, a.Path, "cannot set %q: the contact's id is the runtime's; set contact.FIELD", t)
				continue
			}
		} else if rest, ok := strings.CutPrefix(t, "vars."); ok {
			x.name = rest
		}
		if !varRE.MatchString(x.name) {
			c.errorf(a.Target.Pos, a.Path, "cannot set %q: want a variable name or contact.FIELD", t)
		}
		x.prog = c.ec.Value(a.Expr, a.Path)
		out = append(out, x)
	}
	return out
}

// handoffSettings checks the lead's part of the human queue. Hours and
// placeholders were checked while parsing; here go what needs the
// project: its languages and time zone.
func (c *compiler) handoffSettings(sh *syntax.HandoffSettings, projectTZ *syntax.Str) *HandoffSettings {
	h := &HandoffSettings{HoursSet: sh.HoursSet, CannedSet: sh.CannedSet}
	tz := sh.TimeZone
	if tz == nil {
		tz = projectTZ // already checked with timezone:
	} else if _, err := time.LoadLocation(tz.Value); err != nil || tz.Value == "" || tz.Value == "Local" {
		c.errorf(tz.Pos, "handoff.time_zone", "unknown time zone %q: want an IANA name such as Europe/Moscow", tz.Value)
	}
	if tz != nil {
		h.TimeZone = tz.Value
	} else if len(sh.Hours) > 0 {
		c.r.Warnf(sh.Hours[0].Pos, "handoff.hours", "business hours without a time zone are read in UTC: set handoff.time_zone or the project's timezone")
	}
	for _, s := range sh.Hours {
		h.Hours = append(h.Hours, s.Value)
	}
	for _, s := range sh.Holidays {
		h.Holidays = append(h.Holidays, s.Value)
	}
	if sh.CSATSet {
		h.CSAT, h.CSATAlways = &sh.CSAT, sh.CSATAlways
	}
	if sh.TextsSet {
		h.Texts = map[string]map[string]string{}
		for _, l := range c.p.Languages {
			h.Texts[l] = map[string]string{}
		}
		for _, t := range sh.Texts {
			c.notice(h, t.Key.Value, t.Text)
		}
	}
	seen := map[string]bool{}
	for _, cr := range sh.Canned {
		if cr.ID == nil || cr.Text == nil {
			continue // reported while parsing
		}
		r := CannedReply{ID: cr.ID.Value, Text: cr.Text.Value}
		switch {
		case !idRE.MatchString(r.ID):
			c.errorf(cr.ID.Pos, cr.Path+".id", "canned reply id %q: want letters, digits and _, starting with a letter", r.ID)
		case seen[r.ID]:
			c.errorf(cr.ID.Pos, cr.Path+".id", "duplicate canned reply %q", r.ID)
		}
		seen[r.ID] = true
		c.handoffText(cr.Text, cr.Path+".text")
		if cr.Title != nil {
			r.Title = cr.Title.Value
		}
		if cr.Lang != nil {
			r.Lang = cr.Lang.Value
			if !slices.Contains(c.p.Languages, r.Lang) {
				c.errorf(cr.Lang.Pos, cr.Path+".lang", "language %q is not in the project's languages [%s]", r.Lang, strings.Join(c.p.Languages, ", "))
			}
		}
		h.Canned = append(h.Canned, r)
	}
	return h
}

// agentVars checks the project's vars: section: each name is a variable a
// flow sets (else "did you mean"), each label in the project's languages;
// a language a label lacks gets the default language's label, else the
// first one written.
func (c *compiler) agentVars(vs []*syntax.VarLabel) map[string]map[string]string {
	out := map[string]map[string]string{}
	known := keys(c.ec.Vars)
	for _, v := range vs {
		name, path := v.Name.Value, "vars."+v.Name.Value
		if !c.ec.Vars[name] {
			c.errorf(v.Name.Pos, path, "unknown variable %q: no flow sets it%s", name, hint(name, known))
			continue
		}
		byLang := map[string]string{}
		t := v.Label
		if t.Any != nil {
			for _, l := range c.p.Languages {
				byLang[l] = t.Any.Value
			}
		}
		for _, l := range keys(t.Langs) {
			if !slices.Contains(c.p.Languages, l) {
				c.errorf(t.Langs[l].Pos, path+"."+l, "language %q is not in the project's languages [%s]", l, strings.Join(c.p.Languages, ", "))
				continue
			}
			byLang[l] = t.Langs[l].Value
		}
		if len(byLang) == 0 {
			continue // an empty text, reported while parsing
		}
		fallback := byLang[c.p.DefaultLang]
		if fallback == "" {
			fallback = byLang[keys(byLang)[0]]
		}
		for _, l := range c.p.Languages {
			if byLang[l] == "" {
				byLang[l] = fallback
			}
		}
		out[name] = byLang
	}
	return out
}

// notice adds one notice in every language it has; a project language it
// lacks is a warning, as for any text: those customers get the built-in
// notice.
func (c *compiler) notice(h *HandoffSettings, key string, t *syntax.Text) {
	one := func(s *syntax.Str, path, lang string) {
		c.handoffText(s, path)
		h.Texts[lang][key] = s.Value
	}
	if t.Any != nil {
		for _, l := range c.p.Languages {
			one(t.Any, t.Path, l)
		}
		return
	}
	for _, l := range keys(t.Langs) {
		s := t.Langs[l]
		if !slices.Contains(c.p.Languages, l) {
			c.errorf(s.Pos, t.Path+"."+l, "language %q is not in the project's languages [%s]", l, strings.Join(c.p.Languages, ", "))
			continue
		}
		one(s, t.Path+"."+l, l)
	}
	if len(t.Langs) == 0 {
		return // an empty text, reported while parsing
	}
	for _, l := range c.p.Languages {
		if _, ok := t.Langs[l]; !ok {
			c.r.Warnf(t.Pos, t.Path, "no text in %q: customers writing in it get Parley's built-in notice", l)
		}
	}
}

// handoffText checks a text of the handoff section (a notice, a canned
// reply): at most MaxTextLen characters, not blank.
func (c *compiler) handoffText(s *syntax.Str, path string) {
	if n := eval.RuneLen(s.Value); n > MaxTextLen {
		c.errorf(s.Pos, path, "text is %d characters, limit %d", n, MaxTextLen)
	} else if strings.TrimSpace(s.Value) == "" {
		c.errorf(s.Pos, path, "empty text")
	}
}

// parseKeep reads a retention: days ("90d") or a Go duration ("720h");
// 0 for anything else.
func parseKeep(s string) time.Duration {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0
		}
		return time.Duration(n) * 24 * time.Hour
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0
	}
	return d
}
