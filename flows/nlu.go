package flows

import (
	"strings"
	"unicode"

	"github.com/parley-chat/parley/flows/syntax"
)

// understanding is the project's trained knowledge base.
type understanding struct{}

func (c *compiler) faq(q *syntax.FAQ) *understanding { return nil }

// understand fills the message's understanding into the environment.
func (t *turn) understand() {}

func (t *turn) detectLang(text string) string { return t.e.p.DefaultLang }

// normalize lower-cases, folds ё to е, turns punctuation into spaces and
// collapses runs of spaces; "/start" keeps its slash.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range s {
		switch {
		case r == 'ё' || r == 'Ё':
			r = 'е'
		case unicode.IsUpper(r):
			r = unicode.ToLower(r)
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '/' {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}
