package bot

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitText cuts text into parts of at most max runes, preferring the
// boundaries a reader expects: paragraphs, then lines, then sentences, then
// words; a single word longer than max is cut hard. Parts are trimmed of the
// whitespace at the cut, and no part is empty.
func splitText(text string, max int) []string {
	if max <= 0 || utf8.RuneCountInString(text) <= max {
		return []string{text}
	}
	var parts []string
	rest := text
	for utf8.RuneCountInString(rest) > max {
		cut := cutPoint(rest, max)
		part := strings.TrimRightFunc(rest[:cut], unicode.IsSpace)
		if part != "" {
			parts = append(parts, part)
		}
		rest = strings.TrimLeftFunc(rest[cut:], unicode.IsSpace)
	}
	if rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// cutPoint returns a byte offset <= the offset of rune max in s: the best
// boundary in the second half of the window (so parts stay reasonably long),
// else the last space, else the hard limit.
func cutPoint(s string, max int) int {
	limit := byteOffset(s, max)
	window := s[:limit]
	minCut := byteOffset(s, max/2)
	for _, sep := range []string{"\n\n", "\n", ". ", "! ", "? ", "; ", ", ", " "} {
		if i := strings.LastIndex(window, sep); i >= minCut && i > 0 {
			return i + len(strings.TrimRightFunc(sep, unicode.IsSpace))
		}
	}
	// No boundary in the second half: a short part beats a word cut in two.
	if i := strings.LastIndexFunc(window, unicode.IsSpace); i > 0 {
		return i
	}
	return limit
}

// byteOffset returns the byte offset of the n-th rune of s (len(s) if shorter).
func byteOffset(s string, n int) int {
	i := 0
	for pos := range s {
		if i == n {
			return pos
		}
		i++
	}
	return len(s)
}
