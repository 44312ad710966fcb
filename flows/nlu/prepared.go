package nlu

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Prepared is a message normalised, split into words and stemmed once, so
// that the classifier, the sentiment scorer and RequestsHuman do not each
// repeat that work (it is most of their cost on a short message). The
// *Prepared functions only read it, so they may run on one Prepared at once;
// Reset reuses its buffers for the next message and must not run while they
// do. Strings handed out (evidence, Norm) stay valid after Reset.
type Prepared struct {
	// Text is the message as read: its first MaxTextBytes.
	Text string
	// Norm is Normalize(Text).
	Norm string

	toks   []string    // words of Norm (substrings of it)
	stems  []string    // Stem of each word
	words  []*wordInfo // what the cache knows of each word
	buf    []byte      // Norm under construction
	bounds []int32     // word starts and ends in buf
	// clauses are word ranges cut at sentence punctuation, as the scorer
	// reads them: negation and "but" act within a clause.
	clauses []clauseSpan
}

type clauseSpan struct {
	from, to int  // word indexes
	question bool // the clause ends with "?"
}

// Prepare normalises, tokenises and stems text (its first MaxTextBytes).
func Prepare(text string) *Prepared {
	p := &Prepared{}
	p.Reset(text)
	return p
}

// Words returns the normalised words of the message. The slice is owned by
// p and changes on Reset.
func (p *Prepared) Words() []string { return p.toks }

// Reset prepares p for another message, reusing its buffers.
func (p *Prepared) Reset(text string) {
	text = clipText(text)
	p.Text = text
	p.toks, p.clauses = p.toks[:0], p.clauses[:0]
	b := p.buf[:0]
	// Word boundaries are byte offsets into b; the words become substrings
	// of Norm, so they cost no allocation each.
	wb := p.bounds[:0]
	inWord := false
	clauseFrom := 0 // index of the current clause's first word
	nWords := 0
	prev := rune(-1) // previous rune of text, -1 at the start
	for i := 0; i < len(text); {
		// Runes are decoded by hand for ASCII and Cyrillic, the bulk of
		// what customers type; the rest through unicode/utf8.
		r, size := rune(text[i]), 1
		switch c := text[i]; {
		case c < utf8.RuneSelf:
		case (c == 0xd0 || c == 0xd1) && i+1 < len(text) && text[i+1]&0xc0 == 0x80:
			r, size = rune(c&0x1f)<<6|rune(text[i+1]&0x3f), 2
		default:
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		letter := false
		lr := r
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r >= 'а' && r <= 'я':
			letter = true
		case r >= 'A' && r <= 'Z', r >= 'А' && r <= 'Я':
			lr += 'a' - 'A' // the same distance in ASCII and Cyrillic
			letter = true
		case r == 'ё' || r == 'Ё':
			lr, letter = 'е', true
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			// Before the apostrophe test: 'ʼ' is a letter to Normalize.
			lr, letter = unicode.ToLower(r), true
		case isApostrophe(r) && prev >= 0 && unicode.IsLetter(prev) && nextIsLetter(text[i:]):
			// "don't": one word, as in Normalize.
			prev = r
			continue
		case r < utf8.RuneSelf:
		case unicode.Is(unicode.Mn, r):
			prev = r
			continue // combining marks are dropped without a break
		}
		prev = r
		if letter {
			if !inWord {
				if len(b) > 0 {
					b = append(b, ' ')
				}
				wb = append(wb, int32(len(b)))
				inWord = true
			}
			switch {
			case lr < utf8.RuneSelf:
				b = append(b, byte(lr))
			case lr < 0x800:
				b = append(b, byte(0xc0|lr>>6), byte(0x80|lr&0x3f))
			default:
				b = utf8.AppendRune(b, lr)
			}
			continue
		}
		if inWord {
			wb = append(wb, int32(len(b)))
			inWord = false
			nWords++
		}
		switch r {
		case '.', '!', '?', ';', '\n', '…', '(', ')', ':': // as splitClauses
			if nWords > clauseFrom {
				p.clauses = append(p.clauses, clauseSpan{from: clauseFrom, to: nWords, question: r == '?'})
			}
			clauseFrom = nWords
		}
	}
	if inWord {
		wb = append(wb, int32(len(b)))
		nWords++
	}
	if nWords > clauseFrom {
		p.clauses = append(p.clauses, clauseSpan{from: clauseFrom, to: nWords})
	}
	p.buf, p.bounds = b, wb
	p.Norm = string(b)
	p.words = p.words[:0]
	p.stems = p.stems[:0]
	for k := 0; k+1 < len(wb); k += 2 {
		t := p.Norm[wb[k]:wb[k+1]]
		w := lookupWord(t)
		p.toks = append(p.toks, t)
		p.words = append(p.words, w)
		p.stems = append(p.stems, w.stem)
	}
}

// nextIsLetter reports whether s starts with a letter.
func nextIsLetter(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; c < utf8.RuneSelf {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// preparedPool serves the functions that take plain text.
var preparedPool = sync.Pool{New: func() any { return new(Prepared) }}

func getPrepared(text string) *Prepared {
	p := preparedPool.Get().(*Prepared)
	p.Reset(text)
	return p
}

// putPrepared returns p to the pool unless a pasted log made its buffers
// large: those are better left to the garbage collector.
func putPrepared(p *Prepared) {
	if cap(p.toks) > 256 {
		return
	}
	p.Text, p.Norm = "", ""
	clear(p.toks[:cap(p.toks)])
	clear(p.stems[:cap(p.stems)])
	clear(p.words[:cap(p.words)])
	preparedPool.Put(p)
}
