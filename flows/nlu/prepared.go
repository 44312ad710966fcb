package nlu

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Prepared is a message normalised, split into words and stemmed once, so
// that the classifier, the sentiment scorer and RequestsHuman do not each
// repeat that work (it is most of their cost on a short message). A
// Prepared is not safe for concurrent use: the *Prepared methods of the
// matchers use it as scratch space. Reset reuses its buffers for the next
// message; strings it handed out (evidence, Norm) stay valid.
type Prepared struct {
	// Text is the message as read: its first MaxTextBytes.
	Text string
	// Norm is Normalize(Text).
	Norm string

	toks  []string // words of Norm (substrings of it)
	stems []string // Stem of each word
	// clauses are word ranges cut at sentence punctuation, as the scorer
	// reads them: negation and "but" act within a clause.
	clauses []clauseSpan

	// scratch for the scorer
	used  []bool
	spans []span
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
	var b strings.Builder
	b.Grow(len(text))
	// Word boundaries are byte offsets into the builder; the words become
	// substrings of the finished string, so they cost no allocation each.
	var bounds [64]int32
	wb := bounds[:0]
	inWord := false
	clauseFrom := 0 // index of the current clause's first word
	nWords := 0
	prev := rune(-1) // previous rune of text, -1 at the start
	for i, r := range text {
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
		case isApostrophe(r) && prev >= 0 && unicode.IsLetter(prev) && nextIsLetter(text[i+utf8.RuneLen(r):]):
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
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				wb = append(wb, int32(b.Len()))
				inWord = true
			}
			if lr < utf8.RuneSelf {
				b.WriteByte(byte(lr))
			} else {
				b.WriteRune(lr)
			}
			continue
		}
		if inWord {
			wb = append(wb, int32(b.Len()))
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
		wb = append(wb, int32(b.Len()))
		nWords++
	}
	if nWords > clauseFrom {
		p.clauses = append(p.clauses, clauseSpan{from: clauseFrom, to: nWords})
	}
	p.Norm = b.String()
	for k := 0; k+1 < len(wb); k += 2 {
		p.toks = append(p.toks, p.Norm[wb[k]:wb[k+1]])
	}
	p.stems = p.stems[:0]
	for _, t := range p.toks {
		p.stems = append(p.stems, Stem(t))
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
	preparedPool.Put(p)
}
