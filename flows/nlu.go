package flows

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/nlu"
	"github.com/parley-chat/parley/flows/syntax"
)

// understanding is what the engine knows about free text: the classifier
// trained from faq.yaml (nil without one), the FAQ answers and the
// sentiment scorer.
type understanding struct {
	clf     *nlu.Classifier
	entries map[string]*faqEntry
	labels  map[string]bool
	scorer  *nlu.Scorer // nil when no expression reads sentiment
}

type faqEntry struct {
	title  *text
	answer *text
}

// Minimum examples per label: fewer cannot train a useful classifier.
const minExamples = 3

// faq compiles the knowledge base and trains the classifier.
func (c *compiler) faq(q *syntax.FAQ) *understanding {
	u := &understanding{entries: map[string]*faqEntry{}, labels: map[string]bool{}}
	var examples []nlu.Example
	seenText := map[string]string{} // normalised example -> label
	ids := map[string]syntax.Pos{}
	addID := func(id *syntax.Str, path string) bool {
		if id == nil {
			return false
		}
		if !idRE.MatchString(id.Value) {
			c.errorf(id.Pos, path+".id", "id %q: want letters, digits and _, starting with a letter", id.Value)
			return false
		}
		if id.Value == nlu.OOSLabel {
			c.errorf(id.Pos, path+".id", "id %q is reserved for out_of_scope examples", id.Value)
			return false
		}
		if prev, dup := ids[id.Value]; dup {
			c.errorf(id.Pos, path+".id", "duplicate id %q (first at line %d)", id.Value, prev.Line)
			return false
		}
		ids[id.Value] = id.Pos
		return true
	}
	addExamples := func(ex *syntax.Examples, label, path string) {
		if ex == nil {
			return
		}
		n := 0
		for _, lang := range keys(ex.Langs) {
			if !slices.Contains(c.p.Languages, lang) {
				c.errorf(ex.Pos, path+"."+lang, "language %q is not in the project's languages [%s]", lang, strings.Join(c.p.Languages, ", "))
				continue
			}
			for _, s := range ex.Langs[lang] {
				norm := nlu.Normalize(s.Value)
				if norm == "" {
					c.errorf(s.Pos, path+"."+lang, "empty example")
					continue
				}
				if prev, dup := seenText[norm]; dup {
					if prev == label {
						c.errorf(s.Pos, path+"."+lang, "duplicate example %q", s.Value)
					} else {
						c.errorf(s.Pos, path+"."+lang, "example %q is also an example of %q: the classifier cannot tell them apart", s.Value, prev)
					}
					continue
				}
				seenText[norm] = label
				examples = append(examples, nlu.Example{Text: s.Value, Label: label})
				n++
			}
		}
		if label != nlu.OOSLabel && n < minExamples {
			c.errorf(ex.Pos, path, "%d example(s), want at least %d", n, minExamples)
		}
	}
	for _, e := range q.Entries {
		if !addID(e.ID, e.Path) {
			continue
		}
		fe := &faqEntry{}
		if e.Answer != nil {
			fe.answer = c.text(e.Answer)
		}
		if e.Title != nil {
			fe.title = c.textLimit(e.Title, 100)
		}
		u.entries[e.ID.Value] = fe
		u.labels[e.ID.Value] = true
		addExamples(e.Questions, e.ID.Value, e.Path+".questions")
	}
	for _, in := range q.Intents {
		if !addID(in.ID, in.Path) {
			continue
		}
		u.labels[in.ID.Value] = true
		addExamples(in.Examples, in.ID.Value, in.Path+".examples")
	}
	addExamples(q.OutOfScope, nlu.OOSLabel, "out_of_scope")
	opts := nlu.Options{}
	for i, group := range q.Synonyms {
		path := fmt.Sprintf("synonyms[%d]", i)
		if len(group) < 2 {
			pos := syntax.Pos{File: q.File, Line: 1, Col: 1}
			if len(group) == 1 {
				pos = group[0].Pos
			}
			c.errorf(pos, path, "a synonym group lists a word and at least one variant")
			continue
		}
		if opts.Synonyms == nil {
			opts.Synonyms = map[string][]string{}
		}
		for _, v := range group[1:] {
			opts.Synonyms[group[0].Value] = append(opts.Synonyms[group[0].Value], v.Value)
		}
	}
	if len(u.labels) == 0 {
		c.errorf(syntax.Pos{File: q.File, Line: 1, Col: 1}, "", "the knowledge base has no faq entries and no intents")
		return u
	}
	if c.r.Len() > 0 {
		return u // do not train on a broken file
	}
	clf, err := nlu.Train(examples, opts)
	if err != nil {
		c.errorf(syntax.Pos{File: q.File, Line: 1, Col: 1}, "", "cannot train the classifier: %v", err)
		return u
	}
	u.clf = clf
	return u
}

// finishUnderstanding builds the sentiment scorer once every expression is
// compiled, if any reads sentiment.
func (c *compiler) finishUnderstanding() {
	used := c.ec.Used
	u := c.p.understand
	if u == nil {
		u = &understanding{}
		c.p.understand = u
	}
	if used["sentiment"] || used["negative"] || used["evidence"] {
		u.scorer = sharedScorer()
	}
}

// understand prepares the message's understanding: a button whose value
// is an FAQ id or intent is a certain match at once; the costly parts
// (classifier, sentiment, requests for a human) are computed by need, the
// first time an expression reads them.
func (t *turn) understand() {
	t.understandLazily()
	if t.trace != nil {
		t.traceUnderstanding()
	}
}

func (t *turn) understandLazily() {
	const all = eval.UsesIntent | eval.UsesFAQText | eval.UsesSentiment | eval.UsesHuman
	u := t.e.p.understand
	if u == nil {
		t.have = all
		return
	}
	if t.env.Payload != "" {
		// A pressed button carries no sentiment and needs no classifier.
		t.have = eval.UsesSentiment | eval.UsesHuman
		if u.labels[t.env.Payload] {
			t.setIntent(t.env.Payload, 1, false)
			t.have |= eval.UsesIntent
		}
	}
	switch {
	case t.env.Text == "":
		t.have = all
	case onlyDigits(t.env.Text):
		// An order number, a code or a menu choice: no word, so no feeling
		// and no request for a person (TestDigitsHaveNoSentiment holds the
		// scorer to that); the classifier still runs if asked.
		t.have |= eval.UsesSentiment | eval.UsesHuman
	}
}

// onlyDigits reports whether s is ASCII digits and spaces only, with at
// least one digit.
func onlyDigits(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		default:
			return false
		}
	}
	return digit
}

// prepared recycles the per-message preparation the matchers share.
var prepared = sync.Pool{New: func() any { return nlu.Prepare("") }}

// prepare normalises, splits and stems the message once per turn.
func (t *turn) prepare() *nlu.Prepared {
	if t.prep == nil {
		t.prep = prepared.Get().(*nlu.Prepared)
		t.prep.Reset(t.env.Text)
	}
	return t.prep
}

// need computes the parts of the understanding in want not yet computed.
func (t *turn) need(want eval.Uses) {
	missing := want &^ t.have
	if missing == 0 {
		return
	}
	t.have |= missing
	u, env := t.e.p.understand, &t.env
	if missing&eval.UsesIntent != 0 && u.clf != nil {
		pred := u.clf.ClassifyPrepared(t.prepare())
		t.setIntent(pred.Label, pred.Score, pred.OOS)
	}
	if missing&eval.UsesFAQText != 0 {
		if e := u.entries[env.FAQ.ID]; e != nil {
			env.FAQ.Title = t.renderText(e.title)
			env.FAQ.Answer = t.renderText(e.answer)
		}
	}
	if missing&eval.UsesSentiment != 0 && u.scorer != nil {
		s := u.scorer.ScorePrepared(t.prepare())
		env.Sentiment, env.Negative = s.Score, s.Negative
		t.sentimentEvidence = s.Evidence
	}
	if missing&eval.UsesHuman != 0 {
		env.HumanRequested, t.humanEvidence = nlu.RequestsHumanPrepared(t.prepare())
	}
	if len(t.sentimentEvidence)+len(t.humanEvidence) > 0 {
		env.Evidence = append(slices.Clip(t.sentimentEvidence), t.humanEvidence...)
	}
}

func (t *turn) setIntent(label string, score float64, oos bool) {
	env := &t.env
	env.Intent, env.IntentScore, env.OutOfScope = label, score, oos
	env.FAQ = eval.FAQ{}
	if t.e.p.understand.entries[label] != nil {
		// Title and answer are rendered when an expression reads them.
		env.FAQ.ID, env.FAQ.Score = label, score
	}
}

// evidenceFor is what a handoff of this reason shows the agent.
func (t *turn) evidenceFor(reason string) []string {
	switch reason {
	case ReasonNegative:
		return t.sentimentEvidence
	case ReasonRequested:
		return t.humanEvidence
	}
	return nil
}

// replyLang is the language of this turn's replies and after: the
// message's own when it is clear and the project has it, so a customer who
// changes language is answered in the new one; else the conversation's
// (digits, "ok?", a pressed button's label keep it). A new conversation
// whose first message is not clear takes the language the channel reports
// for the contact, else the language of a short first message ("hi"),
// else the project's default for this turn only.
func (t *turn) replyLang(in Input) string {
	p := t.e.p
	typed := in.Payload == ""
	if typed {
		if l := t.detectLang(in.Text, minLangLetters); l != "" {
			return l
		}
	}
	if t.st.Lang != "" {
		return t.st.Lang
	}
	if l := langCode(in.Contact.Lang); l != "" && slices.Contains(p.Languages, l) {
		return l
	}
	if typed {
		if l := t.detectLang(in.Text, 1); l != "" {
			return l
		}
	}
	// Nothing told the language ("/start", "42"): the default serves this
	// turn, and the next message that says more decides ("hi").
	t.langGuessed = len(p.Languages) > 1
	return p.DefaultLang
}

// minLangLetters is the fewest letters a message needs to change the
// conversation's language: "ok", "abc" or "x" say little of it.
const minLangLetters = 4

// detectLang is the message's language when it has at least min letters
// and the project has it, else "".
func (t *turn) detectLang(text string, min int) string {
	if len(t.e.p.Languages) < 2 {
		return "" // nothing to switch between
	}
	if l := messageLang(text, min); l != "" && slices.Contains(t.e.p.Languages, l) {
		return l
	}
	return ""
}

// messageLang is the language nlu detects in a message, "" when it is
// unsure, the message has fewer than min letters or is a command
// ("/start").
func messageLang(text string, min int) string {
	if text == "" || text[0] == '/' {
		return ""
	}
	letters := 0
	for _, r := range text {
		if unicode.IsLetter(r) {
			if letters++; letters == min {
				break
			}
		}
	}
	if letters < min {
		// Too short to say, but for the script: a bot that speaks Russian
		// and English reads Cyrillic ("да", "ку") as Russian.
		if cyrillic(text) {
			return "ru"
		}
		return ""
	}
	if l := nlu.DetectLanguage(text); l != "" {
		return l
	}
	if englishShort[strings.ToLower(strings.Trim(text, " !?.,)(:;"))] {
		return "en" // "hi", "thx": what DetectLanguage finds too short
	}
	if cyrillic(text) {
		return "ru"
	}
	return ""
}

// cyrillic reports whether s has two letters or more, all Cyrillic.
func cyrillic(s string) bool {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			if !unicode.Is(unicode.Cyrillic, r) {
				return false
			}
			n++
		}
	}
	return n >= 2
}

// englishShort are English chat words no one types in Russian
// transliteration; "ok", "no" or "da" say nothing.
var englishShort = map[string]bool{"hi": true, "hey": true, "bye": true, "thx": true, "ty": true, "yes": true, "yep": true, "nope": true}

// normalize lower-cases, folds ё to е, turns punctuation into spaces and
// collapses runs of spaces, like nlu.Normalize, but keeps "/" so commands
// such as "/start" stay recognisable in `norm`. It runs on every message:
// ASCII and Russian letters take a fast path, the rest goes through the
// unicode tables (normalizeSlow is the reference the tests compare with).
func normalize(s string) string {
	if isNormal(s) {
		return s // most short answers ("3", "да", "/start") need no copy
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range s {
		letter := false
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '/':
			letter = true
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
			letter = true
		case r >= 'а' && r <= 'я':
			letter = true
		case r >= 'А' && r <= 'Я':
			r += 'а' - 'А'
			letter = true
		case r == 'ё' || r == 'Ё':
			r, letter = 'е', true
		case r < 0x80:
			// ASCII punctuation, spaces and control characters.
		default:
			if unicode.IsUpper(r) {
				r = unicode.ToLower(r)
			}
			letter = unicode.IsLetter(r) || unicode.IsDigit(r)
		}
		if letter {
			// Bytes written directly: WriteRune is not inlined, and these
			// are most of the letters.
			switch {
			case r < utf8.RuneSelf:
				b.WriteByte(byte(r))
			case r < 0x800: // two bytes, Cyrillic among them
				b.WriteByte(0xC0 | byte(r>>6))
				b.WriteByte(0x80 | byte(r)&0x3F)
			default:
				b.WriteRune(r)
			}
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// isNormal reports whether normalize would return s unchanged: lower-case
// ASCII and Russian letters, digits and "/", in words separated by single
// spaces.
func isNormal(s string) bool {
	space := true // at the start, as after a space: no leading space
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '/', r >= 'а' && r <= 'я':
			space = false
		case r == ' ' && !space:
			space = true
		default:
			return false
		}
	}
	return !space || s == ""
}

// normalizeSlow is normalize through the unicode tables only.
func normalizeSlow(s string) string {
	var b strings.Builder
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
