package eval

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/conf"
)

// Extraction functions take parts of the customer's text: an order number
// out of "где мой заказ 5550123?", an e-mail, a phone. They are registered
// with typed signatures, so a wrong argument is a load error like any
// other; Env stays without methods.
//
// Every function reads at most maxExtractBytes of its text (a message is
// clipped to 4096 runes already, but a variable may hold more) and
// find_all and numbers return at most maxMatches values, so a turn's cost
// stays bounded whatever a customer sends.
const (
	maxExtractBytes = 16 << 10
	maxMatches      = 100
	// MaxPatternLen bounds a pattern built at run time (a literal one is
	// checked at load like the rest of the expression).
	MaxPatternLen = 1000
	maxDigits     = 32 // the largest max digits() accepts
)

// funcOpts registers the functions with every compilation.
var funcOpts = []expr.Option{
	expr.Function("find", callFind, new(func(string, string) string)),
	expr.Function("find_all", callFindAll, new(func(string, string) []string)),
	expr.Function("numbers", func(a ...any) (any, error) { return Numbers(a[0].(string)), nil },
		new(func(string) []float64)),
	expr.Function("digits", callDigits, new(func(string, int, int) string)),
	expr.Function("email", func(a ...any) (any, error) { return Email(a[0].(string)), nil },
		new(func(string) string)),
	expr.Function("phone", func(a ...any) (any, error) { return Phone(a[0].(string)), nil },
		new(func(string) string)),
}

// FuncNames are the flow language's own functions.
func FuncNames() []string {
	return []string{"find", "find_all", "numbers", "digits", "email", "phone"}
}

// parseConfig parses with the functions known, so that find is ours and
// not expr-lang's builtin of the same name.
var parseConfig = func() *conf.Config {
	c := conf.CreateNew()
	for _, o := range funcOpts {
		o(c)
	}
	return c
}()

// patternFuncs are the functions whose second argument is a regular
// expression: a literal one is compiled at load.
var patternFuncs = map[string]bool{"find": true, "find_all": true}

func callFind(a ...any) (any, error) {
	re, err := pattern(a[1].(string))
	if err != nil {
		return "", fmt.Errorf("find: %w", err)
	}
	return Find(a[0].(string), re), nil
}

func callFindAll(a ...any) (any, error) {
	re, err := pattern(a[1].(string))
	if err != nil {
		return []string{}, fmt.Errorf("find_all: %w", err)
	}
	return FindAll(a[0].(string), re), nil
}

func callDigits(a ...any) (any, error) {
	lo, hi := a[1].(int), a[2].(int)
	if lo < 1 || hi < lo || hi > maxDigits {
		return "", fmt.Errorf("digits: want 1 <= min <= max <= %d, got min %d, max %d", maxDigits, lo, hi)
	}
	return Digits(a[0].(string), lo, hi), nil
}

// clip bounds the text an extraction reads, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxExtractBytes {
		return s
	}
	i := maxExtractBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// Find is the first match of re in s, or its first group when re has
// groups; "" when nothing matches.
func Find(s string, re *regexp.Regexp) string {
	s = clip(s)
	if re.NumSubexp() == 0 {
		return re.FindString(s)
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2] < 0 {
		return ""
	}
	return s[m[2]:m[3]]
}

// FindAll is every match of re in s (the first group of each when re has
// groups), at most maxMatches; never nil, so it reads as an empty list.
func FindAll(s string, re *regexp.Regexp) []string {
	s = clip(s)
	out := []string{}
	for _, m := range re.FindAllStringSubmatchIndex(s, maxMatches) {
		switch {
		case re.NumSubexp() == 0:
			out = append(out, s[m[0]:m[1]])
		case m[2] >= 0:
			out = append(out, s[m[2]:m[3]])
		}
	}
	return out
}

// patterns caches compiled regular expressions: the literal ones of the
// loaded projects (compiled once at load, kept) and those built at run
// time (bounded: the cache is emptied when full, so a flow building a new
// pattern per message cannot grow it).
var patterns = struct {
	sync.RWMutex
	literal map[string]*regexp.Regexp
	dynamic map[string]*regexp.Regexp
}{literal: map[string]*regexp.Regexp{}, dynamic: map[string]*regexp.Regexp{}}

const maxDynamicPatterns = 256

// compileLiteral compiles a pattern written in an expression and keeps it.
func compileLiteral(src string) error {
	patterns.RLock()
	_, ok := patterns.literal[src]
	patterns.RUnlock()
	if ok {
		return nil
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return err
	}
	patterns.Lock()
	patterns.literal[src] = re
	patterns.Unlock()
	return nil
}

// pattern returns the compiled src, compiling it if it was built at run
// time.
func pattern(src string) (*regexp.Regexp, error) {
	patterns.RLock()
	re := patterns.literal[src]
	if re == nil {
		re = patterns.dynamic[src]
	}
	patterns.RUnlock()
	if re != nil {
		return re, nil
	}
	if len(src) > MaxPatternLen {
		return nil, fmt.Errorf("pattern of %d bytes is over the %d-byte limit", len(src), MaxPatternLen)
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %s", src, regexpMessage(err))
	}
	patterns.Lock()
	if len(patterns.dynamic) >= maxDynamicPatterns {
		clear(patterns.dynamic)
	}
	patterns.dynamic[src] = re
	patterns.Unlock()
	return re, nil
}

// regexpMessage drops Go's "error parsing regexp: " prefix.
func regexpMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// Numbers are the numbers written in s: "2,5" and "2.5" are 2.5, "-3" after
// a space is negative. Groups of exactly three digits after the first,
// all with the same separator ("1.234.567"), are thousands; otherwise each
// further separator starts a new number ("1,2,3" is three). A space never
// joins digits: "1 500" is two numbers, since "2 500" could as well be two
// items at 500. At most maxMatches numbers; never nil.
func Numbers(s string) []float64 {
	s = clip(s)
	out := []float64{}
	for i := 0; i < len(s) && len(out) < maxMatches; {
		if !isDigit(s[i]) {
			i++
			continue
		}
		neg := i > 0 && s[i-1] == '-' && (i == 1 || s[i-2] == ' ' || s[i-2] == '\t' || s[i-2] == '\n' || s[i-2] == '(')
		start := i
		i = digitRun(s, i)
		groups := []string{s[start:i]}
		var sep byte
		for i+1 < len(s) && (s[i] == '.' || s[i] == ',') && isDigit(s[i+1]) && (sep == 0 || s[i] == sep) {
			sep = s[i]
			j := digitRun(s, i+1)
			groups = append(groups, s[i+1:j])
			i = j
		}
		for _, v := range numberValues(groups) {
			if neg {
				v, neg = -v, false
			}
			if len(out) < maxMatches {
				out = append(out, v)
			}
		}
	}
	return out
}

// numberValues reads digit groups split by one kind of separator.
func numberValues(groups []string) []float64 {
	parse := func(s string) float64 {
		v, _ := strconv.ParseFloat(s, 64) // digits and one dot only: cannot fail
		return v
	}
	switch {
	case len(groups) == 1:
		return []float64{parse(groups[0])}
	case len(groups) == 2:
		return []float64{parse(groups[0] + "." + groups[1])}
	}
	thousands := len(groups[0]) <= 3
	for _, g := range groups[1:] {
		thousands = thousands && len(g) == 3
	}
	if thousands {
		return []float64{parse(strings.Join(groups, ""))}
	}
	var out []float64
	for _, g := range groups {
		out = append(out, parse(g))
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// wordBefore and wordAfter report whether a letter, digit or underscore
// touches s[i:j] on that side: the run is then part of a word.
func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func wordAfter(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// decimalAround reports whether the run s[i:j] is a part of a decimal
// number ("12.5", "3,75"): a separator with a digit beyond it touches it.
func decimalAround(s string, i, j int) bool {
	if i >= 2 && (s[i-1] == '.' || s[i-1] == ',') && isDigit(s[i-2]) {
		return true
	}
	return j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1])
}

// Digits is the first run of lo..hi digits that stands alone (no letter,
// digit or decimal part touches it), its digits joined: groups of at most
// four digits split by single spaces or dashes are one run ("555-01-23",
// "123 456"), a longer group stands by itself. "" when none fits.
func Digits(s string, lo, hi int) string {
	s = clip(s)
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		start, end, n := runAt(s, i)
		if n >= lo && n <= hi && !wordBefore(s, start) && !wordAfter(s, end) && !decimalAround(s, start, end) {
			return joinDigits(s[start:end], n)
		}
		i = end
	}
	return ""
}

// runAt is the run of digits starting at s[i] (a digit): its end and its
// number of digits. Short groups joined by one space or dash continue it.
func runAt(s string, i int) (start, end, n int) {
	start = i
	j := digitRun(s, i)
	n = j - i
	if n > 4 {
		return start, j, n
	}
	for j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
		k := digitRun(s, j+1)
		if k-(j+1) > 4 {
			break // a long group after a short one is another number
		}
		n += k - (j + 1)
		j = k
	}
	return start, j, n
}

func joinDigits(s string, n int) string {
	if len(s) == n {
		return s
	}
	b := make([]byte, 0, n)
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// emailRE is a practical address: what people type, not all RFC 5322.
var emailRE = regexp.MustCompile(`[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}`)

// Email is the first e-mail address in s, "" when none.
func Email(s string) string {
	s = clip(s)
	if strings.IndexByte(s, '@') < 0 {
		return "" // most messages: no need to run the pattern
	}
	for _, m := range emailRE.FindAllStringIndex(s, maxMatches) {
		addr := strings.Trim(s[m[0]:m[1]], ".")
		if local, _, _ := strings.Cut(addr, "@"); local != "" {
			return addr
		}
	}
	return ""
}

// Phone is the first phone number in s: its digits, with a leading + when
// it is written in international form. A Russian number written with the
// trunk prefix 8 ("8 (912) 345-67-89", 11 digits) is given as +7...; a
// number needs 10 to 15 digits (8 with a +) and must stand alone.
func Phone(s string) string {
	s = clip(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '+' && c != '(' && !isDigit(c) {
			continue
		}
		if wordBefore(s, i) {
			continue
		}
		digits, end := phoneAt(s, i)
		if end == i || wordAfter(s, end) || decimalAround(s, i, end) {
			continue
		}
		plus := c == '+'
		switch n := len(digits); {
		case plus && n >= 8 && n <= 15:
			return "+" + digits
		case n == 11 && digits[0] == '8':
			return "+7" + digits[1:]
		case n == 11 && digits[0] == '7':
			return "+" + digits
		case n >= 10 && n <= 15:
			return digits
		}
		i = end - 1
	}
	return ""
}

// phoneAt reads digits from s[i] through the separators people write in
// phone numbers (spaces, dashes, dots, brackets), at most two in a row.
func phoneAt(s string, i int) (digits string, end int) {
	var b [16]byte
	n, seps := 0, 0
	j := i
	if s[j] == '+' {
		j++
	}
	end = i
	for ; j < len(s); j++ {
		c := s[j]
		switch {
		case isDigit(c):
			if n == len(b) {
				return "", i // too long for a phone
			}
			b[n] = c
			n++
			seps = 0
			end = j + 1
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
			seps++
			if seps > 2 {
				return string(b[:n]), end
			}
			if c == ')' {
				end = j + 1
			}
		default:
			return string(b[:n]), end
		}
	}
	return string(b[:n]), end
}
