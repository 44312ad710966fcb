package syntax

import (
	"fmt"
	"strconv"
	"strings"
)

// Suite is a conversation suite: many single customer messages, each with
// the outcome a good support bot gives, measured as figures (tests/*.yaml
// whose top level has `suite:`).
type Suite struct {
	File string
	Name *Str
	// Require holds the figures the suite must reach (accuracy,
	// complaint_recall, needless_handoffs), each with its position.
	Require []Requirement
	HTTP    []*Canned
	Cases   []*SuiteCase
}

// Requirement is one figure a suite must reach: at least Min for accuracy
// and complaint recall, at most Max for needless handoffs.
type Requirement struct {
	Name  string
	Value float64
	Pos   Pos
}

// Requirable figures, and whether a figure is a ceiling.
var Requirable = map[string]bool{"accuracy": false, "complaint_recall": false, "needless_handoffs": true}

// SuiteCase is one message of a suite and its expected outcome.
type SuiteCase struct {
	Path  string
	Pos   Pos
	Say   *Str
	Topic string
	// Exactly one outcome: Handoff (a reason or "any"), Flow, FAQ, Node
	// ("flow.node") or Fallback.
	Handoff, Flow, FAQ, Node *Str
	Fallback                 bool
	// Extra checks: variables after the turn and the language of the
	// replies.
	Vars []Field
	Lang *Str
}

// ParseSuite reads one suite file.
func ParseSuite(r *Reporter, file string, src []byte) *Suite {
	v := ParseValue(r, file, src)
	if v == nil {
		return &Suite{File: file}
	}
	return SuiteOf(r, file, v)
}

// IsSuite reports whether a parsed tests/ file is a suite: its top level
// is a mapping with a `suite:` key.
func IsSuite(v *Value) bool {
	if v == nil || v.Kind != MapKind {
		return false
	}
	for _, f := range v.Map {
		if f.Key.Value == "suite" {
			return true
		}
	}
	return false
}

// SuiteOf reads a parsed suite file.
func SuiteOf(r *Reporter, file string, v *Value) *Suite {
	s := &Suite{File: file}
	o := Object(r, v, "", "suite", "require", "http", "cases")
	s.Name = o.ReqStr("suite")
	if rv := o.Get("require"); rv != nil {
		ro := Object(r, rv, "require", "accuracy", "complaint_recall", "needless_handoffs")
		for _, f := range ro.V.Map {
			if _, ok := Requirable[f.Key.Value]; !ok {
				continue // Done reports it
			}
			ro.Get(f.Key.Value)
			x, ok := share(f.Val)
			if !ok {
				r.Errorf(f.Val.Pos, ro.Sub(f.Key.Value), "want a share between 0 and 1, such as 0.95")
				continue
			}
			s.Require = append(s.Require, Requirement{Name: f.Key.Value, Value: x, Pos: f.Val.Pos})
		}
		ro.Done()
	}
	s.HTTP = parseCanned(r, o.Get("http"), "http")
	for i, cv := range Seq(r, o.Get("cases"), "cases") {
		s.Cases = append(s.Cases, parseCase(r, cv, fmt.Sprintf("cases[%d]", i)))
	}
	if len(s.Cases) == 0 && o.Has("cases") {
		r.Errorf(o.KeyPos("cases"), "cases", "a suite needs cases")
	} else if !o.Has("cases") {
		r.Errorf(v.Pos, "", "missing \"cases\"")
	}
	o.Done()
	return s
}

// share reads a number in [0, 1].
func share(v *Value) (float64, bool) {
	if v == nil || v.Kind != ScalarKind || (v.Type != "float" && v.Type != "int") {
		return 0, false
	}
	x, err := strconv.ParseFloat(strings.ReplaceAll(v.Scalar.Value, "_", ""), 64)
	return x, err == nil && x >= 0 && x <= 1
}

// outcomes are the keys of expect that name the outcome, in precedence.
var outcomes = []string{"handoff", "flow", "faq", "node", "fallback"}

func parseCase(r *Reporter, v *Value, path string) *SuiteCase {
	o := Object(r, v, path, "say", "topic", "expect")
	c := &SuiteCase{Path: path, Pos: v.Pos, Say: o.ReqStr("say")}
	if t := o.Str("topic"); t != nil {
		c.Topic = t.Value
	}
	ev := o.Get("expect")
	if ev == nil {
		r.Errorf(v.Pos, path, "missing \"expect\": the outcome (one of %s)", strings.Join(outcomes, ", "))
		o.Done()
		return c
	}
	eo := Object(r, ev, o.Sub("expect"), "handoff", "flow", "faq", "node", "fallback", "vars", "lang")
	c.Handoff, c.Flow, c.FAQ, c.Node = eo.Str("handoff"), eo.Str("flow"), eo.Str("faq"), eo.Str("node")
	fb, hasFB := eo.Bool("fallback")
	c.Fallback = fb
	if hasFB && !fb {
		r.Errorf(eo.KeyPos("fallback"), eo.Sub("fallback"), "`fallback: false` says nothing: name the outcome instead")
	}
	if c.Node != nil && !strings.Contains(c.Node.Value, ".") {
		r.Errorf(c.Node.Pos, eo.Sub("node"), "node %q: want flow.node, such as main.thanks", c.Node.Value)
	}
	n := 0
	for _, k := range outcomes {
		if eo.Has(k) {
			n++
		}
	}
	if n != 1 {
		r.Errorf(ev.Pos, eo.Path, "want exactly one outcome (%s), found %d", strings.Join(outcomes, ", "), n)
	}
	c.Vars = freeFields(r, eo.Get("vars"), eo.Sub("vars"))
	c.Lang = eo.Str("lang")
	eo.Done()
	o.Done()
	return c
}
