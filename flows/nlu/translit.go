package nlu

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Russian typed in Latin letters ("skolko stoit dostavka", "gde moi zakaz")
// is common where a keyboard has no Cyrillic layout. Transliterate maps such
// a word back to Cyrillic the way people write it: informally, so several
// spellings of one letter are accepted (ж: zh; х: kh, h; ч: ch; ш: sh; щ: sch,
// shch; ц: ts, c before e/i/y; я: ya, ja, ia at the end; ю: yu, ju; ы: y
// after a consonant; й: y or j after a vowel; ь: an apostrophe or nothing).
// The soft sign people leave out ("skolko") is restored by typo repair or by
// the language lists, which ignore it.

// translitRules are tried longest first at each position.
var translitRules = []struct{ lat, cyr string }{
	{"shch", "щ"}, {"sch", "щ"},
	{"zh", "ж"}, {"kh", "х"}, {"ch", "ч"}, {"sh", "ш"}, {"ts", "ц"}, {"tz", "ц"},
	{"ya", "я"}, {"ja", "я"}, {"yu", "ю"}, {"ju", "ю"}, {"yo", "е"}, {"jo", "е"}, {"ye", "е"}, {"je", "е"},
	{"iy", "ий"}, {"ck", "к"}, {"ph", "ф"},
	{"a", "а"}, {"b", "б"}, {"v", "в"}, {"w", "в"}, {"g", "г"}, {"d", "д"}, {"e", "е"}, {"z", "з"},
	{"i", "и"}, {"j", "й"}, {"k", "к"}, {"l", "л"}, {"m", "м"}, {"n", "н"}, {"o", "о"}, {"p", "п"},
	{"r", "р"}, {"s", "с"}, {"t", "т"}, {"u", "у"}, {"f", "ф"}, {"h", "х"}, {"q", "к"}, {"x", "кс"},
}

// Transliterate returns the Cyrillic reading of a normalised word written
// in Latin letters ("dostavka" -> "доставка"), or "" when the word has
// other characters. It says nothing about whether the word is Russian:
// DetectLanguage and the classifier decide that from what they know.
func Transliterate(word string) string {
	if v, ok := translitCache.Load(word); ok {
		return v.(string)
	}
	out := transliterate(word)
	if len(word) <= 32 && translitCacheSize.Add(1) < maxWordCache {
		translitCache.Store(strings.Clone(word), out)
	}
	return out
}

var (
	translitCache     sync.Map // Latin word -> Cyrillic reading
	translitCacheSize atomic.Int64
)

func transliterate(word string) string {
	if !isLatinWord(word) {
		return ""
	}
	var b strings.Builder
	b.Grow(2 * len(word))
	prevVowel := false
	for i := 0; i < len(word); {
		rest := word[i:]
		switch {
		case rest[0] == 'y' && !startsWithAny(rest, "ya", "yu", "yo", "ye"):
			// y alone: ы after a consonant, й after a vowel or at the start.
			if prevVowel || i == 0 {
				b.WriteString("й")
				prevVowel = false
			} else {
				b.WriteString("ы")
				prevVowel = true
			}
			i++
			continue
		case rest[0] == 'c' && !startsWithAny(rest, "ch", "ck"):
			if len(rest) > 1 && strings.IndexByte("eiy", rest[1]) >= 0 {
				b.WriteString("ц")
			} else {
				b.WriteString("к")
			}
			prevVowel = false
			i++
			continue
		case strings.HasPrefix(rest, "iy") && len(rest) > 2 && strings.IndexByte("aueo", rest[2]) >= 0:
			b.WriteString("и") // "yuliya": и, then я
			prevVowel = true
			i++
			continue
		case rest == "ia" && i > 0:
			b.WriteString("ия") // "rossia", "informatsia"
			prevVowel = true
			i += 2
			continue
		}
		for _, r := range translitRules {
			if strings.HasPrefix(rest, r.lat) {
				b.WriteString(r.cyr)
				i += len(r.lat)
				prevVowel = strings.Contains("аеиоуыэюя", r.cyr[len(r.cyr)-2:])
				break
			}
		}
	}
	return b.String()
}

func startsWithAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isLatinWord reports whether a normalised word is all ASCII letters.
func isLatinWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return w != ""
}
