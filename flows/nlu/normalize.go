package nlu

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/russian"
)

// Normalize lower-cases text, folds ё to е, turns punctuation and symbols into
// spaces, drops apostrophes inside words ("don't" -> "dont") and collapses
// whitespace. Digits are kept. It is the form every matcher in this package
// works on, and the form flows should compare user text against.
func Normalize(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	space := true // suppress leading and repeated spaces
	rs := []rune(text)
	for i, r := range rs {
		switch {
		case r == 'ё' || r == 'Ё':
			b.WriteRune('е')
			space = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		case isApostrophe(r) && i > 0 && i+1 < len(rs) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]):
			// "don't", "it's": one word, as people type it without the apostrophe too.
		case unicode.Is(unicode.Mn, r):
			// combining marks (stress accents in Russian text) carry no meaning here.
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func isApostrophe(r rune) bool {
	return r == '\'' || r == '’' || r == '`' || r == 'ʼ'
}

// MaxTextBytes is how much of a message is read: customer messages are
// short, and a pasted log must not cost more than a message.
const MaxTextBytes = 4096

// clipText cuts text to MaxTextBytes at a rune boundary.
func clipText(text string) string {
	if len(text) <= MaxTextBytes {
		return text
	}
	cut := MaxTextBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// Tokens splits normalised text into words.
func tokens(normalized string) []string {
	return strings.Fields(normalized)
}

// Stem returns the Snowball stem of one normalised word, picking the Russian
// or the English stemmer by the word's script; other words (numbers, mixed
// scripts) are returned unchanged. Stop words are stemmed too, so that "не"
// and "нет" keep a stable form.
func Stem(word string) string { return lookupWord(word).stem }

// wordInfo is what the package learns of a word once: its stem and whether
// it is a swear word (the root search costs more than a stem lookup).
type wordInfo struct {
	stem    string
	concept string // built-in concept (synonyms.go), or ""
	swear   float64
	isSwear bool
}

func lookupWord(word string) *wordInfo {
	if v, ok := wordCache.Load(word); ok {
		return v.(*wordInfo)
	}
	w := &wordInfo{stem: stemUncached(word), concept: conceptOf(word)}
	w.swear, w.isSwear = profanityValence(word)
	// The cache is bounded by the vocabulary people actually type; words longer
	// than 32 bytes are mostly garbage and not worth remembering.
	if len(word) <= 32 && wordCacheSize.Add(1) < maxWordCache {
		wordCache.Store(strings.Clone(word), w)
	}
	return w
}

const maxWordCache = 200_000

var (
	wordCache     sync.Map // word -> *wordInfo
	wordCacheSize atomic.Int64
)

func stemUncached(word string) string {
	cyr, lat, other := 0, 0, 0
	for _, r := range word {
		switch {
		case r >= 'а' && r <= 'я':
			cyr++
		case r >= 'a' && r <= 'z':
			lat++
		default:
			other++
		}
	}
	switch {
	case cyr > 0 && lat == 0 && other == 0:
		return russian.Stem(word, true)
	case lat > 0 && cyr == 0 && other == 0:
		return english.Stem(word, true)
	}
	return word
}

// isNumber reports whether a normalised word is all digits.
func isNumber(w string) bool {
	for _, r := range w {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return w != ""
}
