package flows

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/jsonx"
)

// The session State is stored after every turn and read before the next,
// so it has its own JSON codec: encoding/json's reflection was one of the
// largest costs of a durable turn. The format is encoding/json's, byte for
// byte: field names and order, omitempty, sorted map keys, number
// formatting, HTML-safe string escaping. Whenever the fast path meets
// something it does not handle (an error, an unusual Go type in Vars), it
// hands over to encoding/json, so results and error messages are exactly
// the old ones. FuzzStateCodec holds both directions to encoding/json.

// MarshalState encodes a State as encoding/json does.
func MarshalState(s State) ([]byte, error) {
	return AppendState(make([]byte, 0, stateSizeHint(s)), s)
}

// AppendState appends the JSON encoding of s to dst, for callers that
// reuse buffers. On error dst is returned unchanged.
func AppendState(dst []byte, s State) ([]byte, error) {
	out, ok := appendState(dst, &s)
	if !ok {
		// Let encoding/json report the problem (NaN, a channel...) in its words.
		b, err := json.Marshal(s)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	return out, nil
}

// UnmarshalState decodes a stored State as encoding/json would. The
// strings of the result share one copy of b.
func UnmarshalState(b []byte) (State, error) {
	if s, ok := decodeState(b); ok {
		return s, nil
	}
	// Malformed or mistyped input is rare: encoding/json decides, so what
	// is rejected, and how it is reported, is exactly as before.
	var s State
	err := json.Unmarshal(b, &s)
	return s, err
}

// stateSizeHint guesses the encoded size, so MarshalState allocates once.
func stateSizeHint(s State) int {
	n := 160 + len(s.Flow) + len(s.Node) + len(s.Version) + len(s.Resume) + len(s.Lang)
	for _, f := range s.Stack {
		n += 24 + len(f.Flow) + len(f.Node)
	}
	for _, b := range s.Buttons {
		n += 24 + len(b.Text) + len(b.Value)
	}
	for k, v := range s.Vars {
		n += 8 + len(k)
		if x, ok := v.(string); ok {
			n += len(x)
		} else {
			n += 16
		}
	}
	return n
}

// appendState writes s field by field in State's declaration order;
// ok is false when encoding/json must do it. Every field is written with a
// leading comma; the first one becomes the opening brace.
func appendState(b []byte, s *State) ([]byte, bool) {
	start := len(b)
	b = jsonx.AppendOptField(b, `,"flow":`, s.Flow)
	b = jsonx.AppendOptField(b, `,"node":`, s.Node)
	b = jsonx.AppendOptField(b, `,"version":`, s.Version)
	if len(s.Stack) > 0 {
		b = jsonx.AppendPairs(b, `,"stack":`, `{"flow":`, `,"node":`, s.Stack, func(f Frame) (string, string) { return f.Flow, f.Node })
	}
	if len(s.Vars) > 0 {
		b = append(b, `,"vars":`...)
		var ok bool
		if b, ok = appendObject(b, s.Vars, 0); !ok {
			return b, false
		}
	}
	if s.Waiting {
		b = append(b, `,"waiting":true`...)
	}
	if s.InHandoff {
		b = append(b, `,"in_handoff":true`...)
	}
	b = jsonx.AppendOptField(b, `,"resume":`, s.Resume)
	if s.Ended {
		b = append(b, `,"ended":true`...)
	}
	if s.Retries != 0 {
		b = append(b, `,"retries":`...)
		b = strconv.AppendInt(b, int64(s.Retries), 10)
	}
	if s.Fallbacks != 0 {
		b = append(b, `,"fallbacks":`...)
		b = strconv.AppendInt(b, int64(s.Fallbacks), 10)
	}
	b = jsonx.AppendOptField(b, `,"lang":`, s.Lang)
	if len(s.Buttons) > 0 {
		b = jsonx.AppendPairs(b, `,"buttons":`, `{"text":`, `,"value":`, s.Buttons, func(x Button) (string, string) { return x.Text, x.Value })
	}
	if s.Deadline != 0 {
		b = append(b, `,"deadline":`...)
		b = strconv.AppendInt(b, s.Deadline, 10)
	}
	if s.Turns != 0 {
		b = append(b, `,"turns":`...)
		b = strconv.AppendInt(b, int64(s.Turns), 10)
	}
	if len(s.Params) > 0 {
		b = append(b, `,"params":`...)
		var ok bool
		if b, ok = appendObject(b, s.Params, 0); !ok {
			return b, false
		}
	}
	if len(b) == start {
		return append(b, "{}"...), true
	}
	b[start] = '{'
	return append(b, '}'), true
}

// maxHandDepth is how deep appendValue nests before handing a value to
// encoding/json, which also detects cycles (a map holding itself).
const maxHandDepth = 64

// appendValue encodes the types variables hold (JSON's own and what set
// nodes store before jsonValue existed); anything else goes through
// encoding/json, which gives the same bytes inside a struct as alone.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return jsonx.AppendString(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case []string:
		if x == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, e)
		}
		return append(b, ']'), true
	case []any:
		if x == nil {
			return append(b, "null"...), true
		}
		if depth >= maxHandDepth {
			break
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if x == nil {
			return append(b, "null"...), true
		}
		if depth >= maxHandDepth {
			break
		}
		return appendObject(b, x, depth)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return append(b, j...), true
}

// appendObject writes m with its keys sorted bytewise, as encoding/json does.
func appendObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonx.AppendString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendValue(b, m[k], depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendFloat formats like encoding/json: shortest round-trip digits,
// exponent form outside [1e-6, 1e21) without a leading zero in it.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// maxNesting is encoding/json's limit on nested arrays and objects.
const maxNesting = 10000

// stateDecoder reads a State in one pass, validating as it goes. It
// follows encoding/json's rules for a struct: keys match field names
// case-insensitively (an exact match first), a later duplicate key wins
// and decodes into what is already there (slice elements, the Vars map),
// null leaves strings, numbers and bools alone and clears slices and maps,
// unknown keys are skipped. On any problem it gives up (ok is false) and
// lets encoding/json decide; it never reports an error itself.
//
// Strings are cut from one string copy of the input, so a decoded State
// costs few allocations; they keep that copy alive while any is in use.
type stateDecoder struct {
	s     string
	i     int
	depth int
}

// decodeState is the fast path of UnmarshalState.
func decodeState(b []byte) (State, bool) {
	d := stateDecoder{s: string(b)}
	var st State
	d.space()
	if d.literal("null") {
		d.space()
		return st, d.i == len(d.s)
	}
	if !d.state(&st) {
		return State{}, false
	}
	d.space()
	return st, d.i == len(d.s)
}

func (d *stateDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// literal consumes word if it comes next; whatever follows is checked by
// the caller (trueX fails there as a missing delimiter).
func (d *stateDecoder) literal(word string) bool {
	if !strings.HasPrefix(d.s[d.i:], word) {
		return false
	}
	d.i += len(word)
	return true
}

// next skips space and consumes c if it comes next.
func (d *stateDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// peek skips space and returns the next byte (0 at the end).
func (d *stateDecoder) peek() byte {
	d.space()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// object walks the members of an object, calling member with each key
// (unescaped) positioned before its value.
func (d *stateDecoder) object(member func(key string) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.depth++; d.depth > maxNesting {
		return false
	}
	if d.next('}') {
		d.depth--
		return true
	}
	for {
		if d.peek() != '"' {
			return false
		}
		key, ok := d.str()
		if !ok || !d.next(':') || !member(key) {
			return false
		}
		if d.next(',') {
			continue
		}
		if d.next('}') {
			d.depth--
			return true
		}
		return false
	}
}

// array walks the elements of an array, calling elem positioned before each.
func (d *stateDecoder) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.depth++; d.depth > maxNesting {
		return false
	}
	if d.next(']') {
		d.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.next(',') {
			continue
		}
		if d.next(']') {
			d.depth--
			return true
		}
		return false
	}
}

func (d *stateDecoder) state(st *State) bool {
	return d.object(func(key string) bool {
		switch stateField(key) {
		case "flow":
			return d.stringField(&st.Flow)
		case "node":
			return d.stringField(&st.Node)
		case "version":
			return d.stringField(&st.Version)
		case "stack":
			return decodeSlice(d, &st.Stack, 2, d.frame)
		case "vars":
			return d.vars(&st.Vars)
		case "waiting":
			return d.boolField(&st.Waiting)
		case "in_handoff":
			return d.boolField(&st.InHandoff)
		case "resume":
			return d.stringField(&st.Resume)
		case "ended":
			return d.boolField(&st.Ended)
		case "retries":
			return d.intField(&st.Retries)
		case "fallbacks":
			return d.intField(&st.Fallbacks)
		case "lang":
			return d.stringField(&st.Lang)
		case "buttons":
			return decodeSlice(d, &st.Buttons, 8, d.button)
		case "deadline":
			return d.int64Field(&st.Deadline)
		case "turns":
			return d.intField(&st.Turns)
		case "params":
			return d.vars(&st.Params)
		}
		return d.skip()
	})
}

var stateFields = []string{"flow", "node", "version", "stack", "vars", "waiting", "in_handoff",
	"resume", "ended", "retries", "fallbacks", "lang", "buttons", "deadline", "turns", "params"}

// stateField returns the State field key names, "" for none.
func stateField(key string) string { return matchField(key, stateFields) }

// matchField finds key among names as encoding/json does: exactly, else
// under simple Unicode case folding (strings.EqualFold is the same
// relation as encoding/json's foldName), so "Flow" and "ſtack" match.
func matchField(key string, names []string) string {
	for _, n := range names {
		if key == n {
			return n
		}
	}
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return n
		}
	}
	return ""
}

func (d *stateDecoder) frame(f *Frame) bool {
	return d.object(func(key string) bool {
		switch matchField(key, frameFields) {
		case "flow":
			return d.stringField(&f.Flow)
		case "node":
			return d.stringField(&f.Node)
		}
		return d.skip()
	})
}

var frameFields = []string{"flow", "node"}

func (d *stateDecoder) button(b *Button) bool {
	return d.object(func(key string) bool {
		switch matchField(key, buttonFields) {
		case "text":
			return d.stringField(&b.Text)
		case "value":
			return d.stringField(&b.Value)
		}
		return d.skip()
	})
}

var buttonFields = []string{"text", "value"}

// decodeSlice decodes an array into *s as encoding/json does into a
// slice: elements decode into what the slice (up to its capacity) already
// holds, so a duplicate key merges; [] is a new empty slice, null nil.
// An element that is null stays as it was.
//
// A new slice starts with room for hint elements.
func decodeSlice[T any](d *stateDecoder, s *[]T, hint int, elem func(*T) bool) bool {
	switch d.peek() {
	case 'n':
		if !d.literal("null") {
			return false
		}
		*s = nil
		return true
	case '[':
	default:
		return false
	}
	v := *s
	n := 0
	ok := d.array(func() bool {
		if n == cap(v) {
			// Grown slots are zero, as with reflect.Value.Grow.
			grown := make([]T, n+1, max(2*n, hint))
			copy(grown, v[:n])
			v = grown
		}
		v = v[:n+1]
		n++
		if d.peek() == 'n' {
			return d.literal("null")
		}
		return elem(&v[n-1])
	})
	if !ok {
		return false
	}
	if n == 0 {
		v = []T{}
	}
	*s = v[:n]
	return true
}

func (d *stateDecoder) stringField(p *string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.str()
		*p = s
		return ok
	case 'n':
		return d.literal("null")
	}
	return false
}

func (d *stateDecoder) boolField(p *bool) bool {
	switch d.peek() {
	case 't':
		*p = true
		return d.literal("true")
	case 'f':
		*p = false
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	return false
}

func (d *stateDecoder) intField(p *int) bool {
	n := int64(*p) // null keeps it
	if !d.int64Field(&n) {
		return false
	}
	if int64(int(n)) != n {
		return false
	}
	*p = int(n)
	return true
}

// int64Field takes integers only, as encoding/json does for an int field
// (1.0 and 1e3 are errors there).
func (d *stateDecoder) int64Field(p *int64) bool {
	if d.peek() == 'n' {
		return d.literal("null")
	}
	num, ok := d.number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return false
	}
	*p = n
	return true
}

// vars decodes into the existing map (encoding/json merges a duplicate
// "vars" key into it); each value is decoded afresh.
func (d *stateDecoder) vars(p *map[string]any) bool {
	switch d.peek() {
	case 'n':
		if !d.literal("null") {
			return false
		}
		*p = nil
		return true
	case '{':
	default:
		return false
	}
	m := *p
	if m == nil {
		m = make(map[string]any)
		*p = m
	}
	return d.object(func(key string) bool {
		v, ok := d.value()
		m[key] = v
		return ok
	})
}

// value decodes any JSON value into encoding/json's types for any.
func (d *stateDecoder) value() (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		m := make(map[string]any)
		return m, d.object(func(key string) bool {
			v, ok := d.value()
			m[key] = v
			return ok
		})
	case c == '[':
		a := make([]any, 0)
		ok := d.array(func() bool {
			v, ok := d.value()
			a = append(a, v)
			return ok
		})
		return a, ok
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		num, ok := d.number()
		if !ok {
			return nil, false
		}
		f, err := strconv.ParseFloat(num, 64)
		return f, err == nil
	}
	return nil, false
}

// skip consumes a value of an unknown key, validating it all the same.
func (d *stateDecoder) skip() bool {
	switch d.peek() {
	case '"':
		_, _, ok := d.rawString()
		return ok
	case '{':
		return d.object(func(string) bool { return d.skip() })
	case '[':
		return d.array(d.skip)
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	_, ok := d.number() // not parsed: encoding/json ignores 1e400 here
	return ok
}

// number consumes a number in JSON's grammar and returns its text.
func (d *stateDecoder) number() (string, bool) {
	s, i := d.s, d.i
	start := i
	digits := func() bool {
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		digits()
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return "", false
		}
	}
	d.i = i
	return s[start:i], true
}

// str consumes a string and returns its value: a substring of the input
// when it has no escapes and is valid UTF-8, else unescaped as
// encoding/json does (bad UTF-8 and lone surrogates become U+FFFD).
func (d *stateDecoder) str() (string, bool) {
	raw, plain, ok := d.rawString()
	if !ok {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if !plain && (strings.IndexByte(body, '\\') >= 0 || !utf8.ValidString(body)) {
		return unescape(body), true
	}
	return body, true
}

// rawString consumes a string, checking it as encoding/json's scanner
// does (no control characters, only JSON's escapes), and returns it with
// its quotes; plain means plain ASCII, no escapes.
func (d *stateDecoder) rawString() (raw string, plain, ok bool) {
	s, start := d.s, d.i
	i := start + 1
	plain = true
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			d.i = i + 1
			return s[start:d.i], plain, true
		case c < ' ':
			return "", false, false
		case c >= utf8.RuneSelf:
			plain = false
			i++
		case c == '\\':
			plain = false
			i++
			if i >= len(s) {
				return "", false, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 > len(s) || hex4(s[i+1:i+5]) < 0 {
					return "", false, false
				}
				i += 5
			default:
				return "", false, false
			}
		default:
			i++
		}
	}
	return "", false, false
}

// hex4 reads four hex digits, -1 if they are not.
func hex4(s string) rune {
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape decodes the body of a string that rawString accepted.
func unescape(s string) string {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = utf8.AppendRune(b, r) // RuneError for a bad byte, as encoding/json
			i += size
			continue
		}
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch c = s[i+1]; c {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; anything else after a surrogate is
				// decoded on its own and the surrogate becomes U+FFFD.
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, hex4(s[i+2:i+6])); dec != utf8.RuneError {
						b = utf8.AppendRune(b, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // " \ /
			b = append(b, c)
		}
		i += 2
	}
	return string(b)
}
