package syntax

import (
	"fmt"
	"strconv"
	"strings"
)

// Obj reads the keys of one mapping according to a schema: every key must
// be read (Get) or it is reported as unknown by Done, with a suggestion.
type Obj struct {
	r     *Reporter
	V     *Value
	Path  string
	known []string
	used  map[string]bool
}

// Object starts reading v as a mapping at path. A non-mapping is reported
// and yields an empty Obj, so decoding goes on and finds more problems.
func Object(r *Reporter, v *Value, path string, known ...string) *Obj {
	o := &Obj{r: r, V: v, Path: path, known: known, used: map[string]bool{}}
	if v != nil && v.Kind != MapKind {
		if v.Kind == NullKind {
			o.V = &Value{Kind: MapKind, Pos: v.Pos}
			return o
		}
		r.Errorf(v.Pos, path, "want a mapping, found a %s", v.Kind)
		o.V = &Value{Kind: MapKind, Pos: v.Pos}
	}
	if o.V == nil {
		o.V = &Value{Kind: MapKind}
	}
	return o
}

// Has reports whether key is present (without consuming it).
func (o *Obj) Has(key string) bool { return o.field(key) != nil }

func (o *Obj) field(key string) *Field {
	for i := range o.V.Map {
		if o.V.Map[i].Key.Value == key {
			return &o.V.Map[i]
		}
	}
	return nil
}

// Get returns the value of key, or nil when it is absent.
func (o *Obj) Get(key string) *Value {
	o.used[key] = true
	if f := o.field(key); f != nil {
		return f.Val
	}
	return nil
}

// KeyPos is the position of key, or of the mapping when key is absent.
func (o *Obj) KeyPos(key string) Pos {
	if f := o.field(key); f != nil {
		return f.Key.Pos
	}
	return o.V.Pos
}

// Sub is the document path of key.
func (o *Obj) Sub(key string) string { return join(o.Path, key) }

// Str reads key as a string scalar; nil when absent.
func (o *Obj) Str(key string) *Str {
	v := o.Get(key)
	return AsStr(o.r, v, o.Sub(key))
}

// ReqStr reads a required string scalar.
func (o *Obj) ReqStr(key string) *Str {
	s := o.Str(key)
	if s == nil && o.field(key) == nil {
		o.r.Errorf(o.V.Pos, o.Path, "missing %q", key)
	}
	return s
}

// Int reads key as an integer; ok is false when absent or wrong.
func (o *Obj) Int(key string) (n int, p Pos, ok bool) {
	v := o.Get(key)
	if v == nil || v.Kind == NullKind {
		return 0, Pos{}, false
	}
	if v.Kind != ScalarKind || v.Type != "int" {
		o.r.Errorf(v.Pos, o.Sub(key), "want an integer")
		return 0, v.Pos, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v.Scalar.Value, "_", ""))
	if err != nil {
		o.r.Errorf(v.Pos, o.Sub(key), "want an integer: %v", err)
		return 0, v.Pos, false
	}
	return n, v.Pos, true
}

// Bool reads key as a boolean; absent is false.
func (o *Obj) Bool(key string) (b bool, present bool) {
	v := o.Get(key)
	if v == nil {
		return false, false
	}
	if v.Kind != ScalarKind || v.Type != "bool" {
		o.r.Errorf(v.Pos, o.Sub(key), "want true or false")
		return false, true
	}
	return v.Scalar.Value == "true", true
}

// Done reports every key that was never read, with the nearest known key.
func (o *Obj) Done() {
	for _, f := range o.V.Map {
		if o.used[f.Key.Value] {
			continue
		}
		msg := fmt.Sprintf("unknown field %q", f.Key.Value)
		if s := Suggest(f.Key.Value, o.known); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else if len(o.known) > 0 && len(o.known) <= 12 {
			msg += fmt.Sprintf(" (want one of %s)", strings.Join(o.known, ", "))
		}
		o.r.Errorf(f.Key.Pos, join(o.Path, f.Key.Value), "%s", msg)
	}
}

// AsStr reads v as a string scalar: numbers and booleans are accepted as
// their text (so `value: 1` works), mappings and sequences are errors.
func AsStr(r *Reporter, v *Value, path string) *Str {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ScalarKind:
		s := v.Scalar
		return &s
	case NullKind:
		r.Errorf(v.Pos, path, "empty value")
		return nil
	}
	r.Errorf(v.Pos, path, "want a string, found a %s", v.Kind)
	return nil
}

// Seq reads v as a sequence; a single scalar is taken as a list of one.
func Seq(r *Reporter, v *Value, path string) []*Value {
	if v == nil || v.Kind == NullKind {
		return nil
	}
	if v.Kind == SeqKind {
		return v.Seq
	}
	r.Errorf(v.Pos, path, "want a list, found a %s", v.Kind)
	return nil
}

// StrList reads a list of strings.
func StrList(r *Reporter, v *Value, path string) []*Str {
	var out []*Str
	for i, x := range Seq(r, v, path) {
		if s := AsStr(r, x, fmt.Sprintf("%s[%d]", path, i)); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Suggest returns the known name closest to k by edit distance, if close
// enough to be a likely typo; "" otherwise.
func Suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := EditDistance(k, c); d < bestD || (d == bestD && best == "" && d <= 2) {
			best, bestD = c, d
		}
	}
	if bestD > 2 || len(k) < 3 {
		return ""
	}
	return best
}

// EditDistance is the Levenshtein distance of a and b in runes; lint uses it
// for its "did you mean" suggestions.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
