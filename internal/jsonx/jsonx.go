// Package jsonx holds the JSON encoding the hand-written encoders of the
// hot paths share (the session codec, the store's records, the web chat's
// frames): strings quoted byte for byte as encoding/json quotes them, without
// its reflection and allocations.
package jsonx

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// plainASCII marks the ASCII bytes encoding/json writes as they are: it
// escapes control characters, quote, backslash and (HTML-safe) <, >, &.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s quoted s exactly as encoding/json does, invalid UTF-8
// becoming U+FFFD and U+2028/U+2029 escaped for JSONP.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		if 0xC2 <= c && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2 // a valid two-byte rune (Cyrillic, say): nothing to escape
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendField appends key, written out with its quotes, colon and any
// leading comma (`,"node":`), and s quoted.
func AppendField(b []byte, key, s string) []byte {
	return AppendString(append(b, key...), s)
}

// AppendOptField is AppendField for a field tagged omitempty: nothing when
// s is empty.
func AppendOptField(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return AppendField(b, key, s)
}

// AppendPairs appends key (as for AppendField) and list as an array of
// objects with two string fields, named by k1 and k2 (`{"text":` and
// `,"value":`), as encoding/json writes a slice of such structs.
func AppendPairs[T any](b []byte, key, k1, k2 string, list []T, pair func(T) (string, string)) []byte {
	b = append(b, key...)
	b = append(b, '[')
	for i, x := range list {
		if i > 0 {
			b = append(b, ',')
		}
		v1, v2 := pair(x)
		b = AppendField(b, k1, v1)
		b = AppendField(b, k2, v2)
		b = append(b, '}')
	}
	return append(b, ']')
}
