package nlu

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Sentiment is the scorer's verdict on one message.
type Sentiment struct {
	// Score is the polarity in [-1, 1]; below zero is negative.
	Score float64
	// Negative says the message should be treated as a complaint or an
	// upset customer: a bot must not answer it cheerfully.
	Negative bool
	// Evidence lists the words and signals that fired, as found in the
	// message ("ужасно", "not bad (negated)", "complaint: верните деньги",
	// "shouting: caps").
	Evidence []string
}

// Scorer rates messages with lexicons written for Parley, in Russian and
// English, matched by stem. It is immutable and safe for concurrent use.
type Scorer struct {
	stems      map[string]float64 // stem -> valence, about [-4, 4]
	exact      map[string]float64 // words with short stems, matched as written
	complaints *phraseMatcher
	valence    []float64 // per complaint phrase
	// idiom marks complaint phrases that are also ordinary questions
	// ("сколько можно ждать" against "сколько можно заказать"): they count
	// only where idiomHolds.
	idiom []bool
	// phraseStems are the stems of the complaint phrases' words: with the
	// lexicons, what softSign may restore a word to.
	phraseStems map[string]bool
	// neutralAfterNegation: words that follow a negator in polite or plain
	// questions ("не могли бы", "не подскажете", "no problem").
	neutralAfterNegation map[string]bool
	threshold            float64
}

// NegativeThreshold is the score at or under which a message is negative.
const NegativeThreshold = -0.25

// NewScorer builds the scorer from the built-in lexicons.
func NewScorer() *Scorer {
	s := &Scorer{stems: map[string]float64{}, exact: map[string]float64{}, threshold: NegativeThreshold, neutralAfterNegation: setOf(politeAfterNegation)}
	// Map order is random; walk valences in order so that ties and phrase
	// order (which decides overlapping matches) are the same every run.
	for _, lex := range []map[float64]string{ruLexicon, enLexicon} {
		for _, v := range sortedKeys(lex) {
			for _, w := range strings.Fields(lex[v]) {
				if negators[w] || intensifiers[w] != 0 {
					continue // "не", "очень" change other words, they carry no tone
				}
				key, m := Stem(Normalize(w)), s.stems
				if runeLen(key) < 4 {
					// Short stems collide with other words ("горе" and
					// "горы" both stem to "гор"): match the word as written.
					key, m = Normalize(w), s.exact
				}
				if old, ok := m[key]; !ok || math.Abs(v) > math.Abs(old) {
					m[key] = v
				}
			}
		}
	}
	var phrases []string
	for _, v := range sortedKeys(complaintLexicon) {
		for _, p := range strings.Split(complaintLexicon[v], ",") {
			if p = strings.TrimSpace(p); p != "" {
				phrases = append(phrases, p)
				s.valence = append(s.valence, v)
				s.idiom = append(s.idiom, complaintIdioms[p])
			}
		}
	}
	s.complaints = newPhraseMatcher(phrases, 1)
	s.phraseStems = map[string]bool{}
	for _, ph := range s.complaints.phrases {
		for _, st := range ph {
			if runeLen(st) >= 4 {
				s.phraseStems[st] = true
			}
		}
	}
	return s
}

// sortedKeys returns the valences strongest-negative first.
func sortedKeys(m map[float64]string) []float64 {
	keys := make([]float64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Score rates one message (its first MaxTextBytes). Negation, intensifiers
// and "но"/"but" act within a clause: sentence punctuation ends their reach.
func (s *Scorer) Score(text string) Sentiment {
	p := getPrepared(text)
	defer putPrepared(p)
	return s.ScorePrepared(p)
}

// ScorePrepared is Score on a prepared message; it only reads p.
func (s *Scorer) ScorePrepared(p *Prepared) Sentiment {
	got := s.scorePrepared(p)
	if len(got.Evidence) > 0 {
		return got
	}
	// Nothing fired: Russian typed in Latin letters ("zhaloba na kurera, on
	// nagrubil") is scored as its Cyrillic reading. English that the
	// lexicons read ("this is bullshit") never gets here.
	if ru := s.readAsRussian(p); ru != "" {
		q := getPrepared(ru)
		defer putPrepared(q)
		if r := s.scorePrepared(q); len(r.Evidence) > 0 {
			r.Evidence = append([]string{"read as Russian: " + q.Norm}, r.Evidence...)
			return r
		}
	}
	return got
}

func (s *Scorer) scorePrepared(p *Prepared) Sentiment {
	var ev []string
	var sum float64
	negatedVerb := -1 // word index of the first negated ordinary verb
	var pos float64
	complaint := false
	asks := asksForHelp(p.Text) || asksHow(p.toks)
	// Scratch on the stack for a short message, so that p stays read-only.
	// Scratch from a pool rather than from p, so that p stays read-only.
	cs := clausePool.Get().(*clauseScratch)
	defer clausePool.Put(cs)
	for _, c := range p.clauses {
		v, ps, cm, nv := s.scoreClause(p, c, c.question || asks, asks, cs, &ev)
		sum += v
		pos += ps
		complaint = complaint || cm
		if negatedVerb < 0 {
			negatedVerb = nv
		}
	}
	// A complaint stays a complaint when it is polite: "спасибо" and "хорошего
	// дня" around "не работает интернет" count for little.
	if complaint {
		pos *= 0.3
	}
	sum += pos
	// A negated ordinary verb ("не отвечает", "doesn't load") leans negative
	// but alone stays under the threshold; it tips mixed messages.
	if negatedVerb >= 0 && sum <= 0 {
		// A statement of what was not done ("так и не перезвонили",
		// "ситуация не изменилась") is a complaint; in a question, or when
		// the customer cannot find or does not know something ("не могу
		// найти", "не подошел по размеру"), it is a request for help.
		if !asks && !anyQuestion(p.clauses) && unmetVerb(p.toks, negatedVerb) {
			sum -= negatedStatementValence
		} else {
			sum -= negatedVerbValence
		}
		ev = append(ev, "negation: "+p.toks[negatedVerb-1]+" "+p.toks[negatedVerb])
	}
	sum += s.signals(p.Text, sum, &ev)
	score := sum / math.Sqrt(sum*sum+15)
	return Sentiment{Score: score, Negative: score <= s.threshold, Evidence: ev}
}

// negatedVerbValence: sum -0.6 scores -0.15, under NegativeThreshold.
const negatedVerbValence = 0.8

// negatedStatementValence: sum -1.0 scores -0.25, negative.
const negatedStatementValence = 1.0

func anyQuestion(cs []clauseSpan) bool {
	for _, c := range cs {
		if c.question {
			return true
		}
	}
	return false
}

// asksForHelp finds a request for help or information: a failure report
// inside one is a question first ("не пришел заказ, подскажите статус").
// It matches what the regular expression
//
//	подскаж|скажите|помогите|объясните|уточните|\bplease\b|\bcan you\b|\bcould you\b|\bhow (do|can) i\b|\bwhat should i\b
//
// matches in strings.ToLower(text) (TestAsksForHelpMatchesRegexp holds it to
// that), at a tenth of the cost: it runs on every scored message.
func asksForHelp(text string) bool {
	var stack [512]byte
	low := stack[:0]
	for i := 0; i < len(text); { // strings.ToLower without the allocation
		c := text[i]
		switch {
		case c >= 'A' && c <= 'Z':
			low = append(low, c+'a'-'A')
			i++
		case c < utf8.RuneSelf:
			low = append(low, c)
			i++
		case c == 0xd0 && i+1 < len(text) && text[i+1] >= 0xb0 && text[i+1] <= 0xbf, c == 0xd1 && i+1 < len(text) && text[i+1] >= 0x80 && text[i+1] <= 0x9f:
			low = append(low, c, text[i+1]) // а-п, р-я, ѐ-џ: lower case already
			i += 2
		default:
			r, size := utf8.DecodeRuneInString(text[i:])
			low = utf8.AppendRune(low, unicode.ToLower(r))
			i += size
		}
	}
	for _, w := range helpStems {
		if bytes.Contains(low, w) {
			return true
		}
	}
	for _, w := range helpPhrases {
		for off := 0; ; {
			i := bytes.Index(low[off:], w)
			if i < 0 {
				break
			}
			i += off
			if (i == 0 || !isASCIIWord(low[i-1])) && (i+len(w) == len(low) || !isASCIIWord(low[i+len(w)])) {
				return true
			}
			off = i + 1
		}
	}
	return false
}

var (
	helpStems   = [][]byte{[]byte("подскаж"), []byte("скажите"), []byte("помогите"), []byte("объясните"), []byte("уточните")}
	helpPhrases = [][]byte{[]byte("please"), []byte("can you"), []byte("could you"), []byte("how do i"), []byte("how can i"), []byte("what should i")}
)

// isASCIIWord is regexp's \w: the side of a \b.
func isASCIIWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// failureReport is the valence of the mildest complaint tier.
const failureReport = -1.5

type clause struct {
	text     string
	question bool // ends with "?"
}

// splitClauses cuts text at sentence punctuation and line breaks. Prepare
// cuts words into clauses at the same runes; the tests compare the two.
func splitClauses(text string) []clause {
	var out []clause
	start := 0
	for i, r := range text {
		switch r {
		case '.', '!', '?', ';', '\n', '…', '(', ')', ':':
			if i > start {
				out = append(out, clause{text: text[start:i], question: r == '?'})
			}
			start = i + utf8.RuneLen(r)
		}
	}
	if start < len(text) {
		out = append(out, clause{text: text[start:]})
	}
	return out
}

// scoreClause scores one clause; question says it is asked (a "?" or a
// request in the message), asks that the message asks for help or how to
// do something. It returns the clause's negative and positive valence apart,
// whether a complaint phrase was seen, and the word index in p of the first
// negated ordinary verb ("не отвечает"), or -1.
func (s *Scorer) scoreClause(p *Prepared, c clauseSpan, question, asks bool, cs *clauseScratch, ev *[]string) (sum, pos float64, complaint bool, negatedVerb int) {
	toks, stems, words := p.toks[c.from:c.to], p.stems[c.from:c.to], p.words[c.from:c.to]
	negatedVerb = -1

	// Complaint phrases first; their words are not scored again.
	cs.used = append(cs.used[:0], make([]bool, len(toks))...)
	cs.spans = s.complaints.appendSpans(cs.spans[:0], stems)
	used := cs.used
	for _, sp := range cs.spans {
		if used[sp.from] || s.idiom[sp.phrase] && !idiomHolds(toks, sp) {
			continue
		}
		for i := sp.from; i < sp.to; i++ {
			used[i] = true
		}
		v := s.valence[sp.phrase]
		if v > failureReport && (question || stillExpected(toks, sp)) {
			// "почему не приходит СМС?" asks before it complains; "мой
			// заказ ещё не пришёл" still expects it.
			v *= 0.7
		}
		sum += v
		complaint = true
		*ev = append(*ev, "complaint: "+strings.Join(toks[sp.from:sp.to], " "))
	}

	// A customer who says they will not come back: "больше никогда у вас
	// ничего не куплю", "never ordering from you again".
	if from, to, ok := lostCustomer(toks); ok && !used[from] {
		for i := from; i < to; i++ {
			used[i] = true
		}
		sum += lostCustomerValence
		complaint = true
		*ev = append(*ev, "lost customer: "+strings.Join(toks[from:to], " "))
	}

	butAt := -1
	for i, t := range toks {
		if contrastWords[t] {
			butAt = i
		}
	}
	lastTone := -1 // a negator before the last tone word was spent on it
	for i, t := range toks {
		if used[i] {
			continue
		}
		v, label := s.wordValence(t, words[i])
		if v != 0 && i+1 < len(toks) && toks[i+1] == "нет" && !used[i+1] {
			// "жалоб нет", "проблем нет": "нет" after a word denies it,
			// and is spent on it.
			v *= -0.6
			label += " (negated)"
			lastTone = i + 1
			if v > 0 {
				pos += v
			} else {
				sum += v
			}
			*ev = append(*ev, label)
			continue
		}
		if v == 0 {
			if i > 0 && negators[toks[i-1]] && !negators[t] && !s.neutralAfterNegation[t] && runeLen(t) > 3 {
				if negatedVerb < 0 {
					negatedVerb = c.from + i
				}
			}
			continue
		}
		// Intensifiers and diminishers just before the word.
		for j := i - 1; j >= max(0, i-2); j-- {
			if m, ok := intensifiers[toks[j]]; ok {
				v *= m
				label = toks[j] + " " + label
				break
			}
		}
		// Negation within three words before flips and damps (VADER uses
		// -0.74; "не плохо" is mildly positive, not glowing). Swearing is
		// not negated: "не хватало, блять" is no praise.
		// A negator is spent on the first tone word after it: in "не
		// опоздал, вежливый" only "опоздал" is negated.
		for j := i - 1; j >= max(0, i-3, lastTone+1) && !strings.HasPrefix(label, "profanity"); j-- {
			if negators[toks[j]] {
				v *= -0.6
				label += " (negated)"
				break
			}
		}
		lastTone = i
		// Defects and delays named in a request for a remedy ("как вернуть
		// бракованный товар?", "пришла сломанная вещь, как оформить
		// возврат") are what the customer asks about, not how they feel;
		// "how can the courier be late again?" asks for no remedy.
		if asks && v < 0 && v > -2 {
			v *= 0.5
			label += " (in a question)"
		}
		// After "но"/"but" the clause decides the tone.
		if butAt >= 0 {
			if i > butAt {
				v *= 1.5
			} else {
				v *= 0.5
			}
		}
		if v > 0 {
			pos += v
		} else {
			sum += v
		}
		*ev = append(*ev, label)
	}
	return sum, pos, complaint, negatedVerb
}

// clauseScratch holds the buffers scoreClause reuses between clauses.
type clauseScratch struct {
	used  []bool
	spans []span
}

var clausePool = sync.Pool{New: func() any { return new(clauseScratch) }}

func (s *Scorer) wordValence(tok string, w *wordInfo) (float64, string) {
	if v, ok := w.swear, w.isSwear; ok {
		if v < 0 {
			return v, "profanity: " + tok
		}
		return v, tok
	}
	if v, ok := s.exact[tok]; ok {
		return v, tok
	}
	if v, ok := s.stems[w.stem]; ok && runeLen(w.stem) >= 4 {
		return v, tok
	}
	// "ужаааас", "baaad", "noooo": drawn-out letters are said louder.
	if c, ok := collapseRuns(tok); ok {
		if v, ok := s.exact[c]; ok {
			return v, tok
		}
		if st := Stem(c); runeLen(st) >= 4 {
			if v, ok := s.stems[st]; ok {
				return v, tok
			}
		}
	}
	return 0, ""
}

// collapseRuns shortens runs of three or more of one letter to one
// ("ужаааас" → "ужас"); ok is false, at no cost, when there are none.
func collapseRuns(tok string) (string, bool) {
	run, prev, found := 0, rune(-1), false
	for _, r := range tok {
		if r == prev {
			if run++; run >= 3 {
				found = true
				break
			}
		} else {
			prev, run = r, 1
		}
	}
	if !found {
		return "", false
	}
	b := make([]rune, 0, len(tok))
	for _, r := range tok {
		if n := len(b); n > 0 && b[n-1] == r {
			continue
		}
		b = append(b, r)
	}
	return string(b), true
}

// signals scores what is not a word: emoticons, emoji, shouting. Shouting
// and exclamation amplify the tone already there; caps alone lean negative.
func (s *Scorer) signals(text string, sum float64, ev *[]string) float64 {
	text = stripLinks(text)
	var add float64
	neg, pos := 0, 0
	// Forty-odd counts over the text are the dearest part of a short
	// message's score; most messages have no byte an emoticon starts with.
	if mayHaveEmoticon(text) {
		for _, e := range negEmoticons {
			neg += strings.Count(text, e)
		}
		for _, e := range posEmoticons {
			pos += strings.Count(text, e)
		}
	}
	// Russian writers smile with "))" and frown with "((".
	neg += runsOf(text, '(', 2)
	pos += runsOf(text, ')', 2)
	if neg > 0 {
		add -= 1.5 * float64(min(neg, 3))
		*ev = append(*ev, fmt.Sprintf("sad or angry emoticons: %d", neg))
	}
	if pos > 0 {
		add += 1.2 * float64(min(pos, 3))
	}
	total := sum + add
	caps := shouting(text)
	bangs := strings.Contains(text, "!!")
	switch {
	case caps && total < 0:
		add += total * 0.3
		*ev = append(*ev, "shouting: caps")
	case caps && total == 0:
		add -= 1.2 // "ГДЕ МОЙ ЗАКАЗ" is not a calm question
		*ev = append(*ev, "shouting: caps")
	}
	if bangs && total < 0 {
		add += total * 0.2
		*ev = append(*ev, "shouting: !!!")
	}
	return add
}

// stripLinks drops URLs, whose "://" and ")" are not faces.
func stripLinks(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	f := strings.Fields(text)
	for i, w := range f {
		if strings.Contains(w, "://") {
			f[i] = ""
		}
	}
	return strings.Join(f, " ")
}

// runsOf counts runs of at least n repetitions of r.
func runsOf(text string, r rune, n int) int {
	count, run := 0, 0
	for _, c := range text {
		if c == r {
			run++
			if run == n {
				count++
			}
		} else {
			run = 0
		}
	}
	return count
}

// shouting: at least two words of four or more letters all in capitals and
// they make up half the words; short all-caps words are mostly acronyms
// (МТС, ВТБ, SMS). Words are runs of letters.
func shouting(text string) bool {
	words, caps := 0, 0
	n, up := 0, true // the current word's letters; all upper so far
	for _, r := range text {
		var letter, upper bool
		switch {
		case r >= 'a' && r <= 'z', r >= 'а' && r <= 'я':
			letter = true
		case r >= 'A' && r <= 'Z', r >= 'А' && r <= 'Я':
			letter, upper = true, true
		case r < utf8.RuneSelf:
		default:
			letter = unicode.IsLetter(r)
			upper = letter && unicode.IsUpper(r)
		}
		if letter {
			if n == 0 {
				words++
			}
			n++
			up = up && upper
			continue
		}
		if n >= 4 && up {
			caps++
		}
		n, up = 0, true
	}
	if n >= 4 && up {
		caps++
	}
	return caps >= 2 && caps*2 >= words
}

// emoticonStart marks the bytes an emoticon may start with.
var emoticonStart = func() (t [256]bool) {
	for _, list := range [][]string{negEmoticons, posEmoticons} {
		for _, e := range list {
			t[e[0]] = true
		}
	}
	return t
}()

func mayHaveEmoticon(text string) bool {
	for i := 0; i < len(text); i++ {
		if emoticonStart[text[i]] {
			return true
		}
	}
	return false
}

// SentimentReport is what `parley nlu eval sentiment` prints.
type SentimentReport struct {
	Test              int     `json:"test"`
	Negatives         int     `json:"negatives"`
	NegativePrecision float64 `json:"negative_precision"`
	NegativeRecall    float64 `json:"negative_recall"`
	NegativeF1        float64 `json:"negative_f1"`
	// Accuracy over negative, neutral and positive: a score above
	// PositiveThreshold counts as positive, the rest as neutral.
	Accuracy float64 `json:"accuracy"`
}

// PositiveThreshold is the score above which a message counts as positive
// in the three-way accuracy.
const PositiveThreshold = 0.25

// EvalSentiment scores labelled messages (negative, neutral, positive).
func EvalSentiment(s *Scorer, test []Example) (SentimentReport, error) {
	r := SentimentReport{Test: len(test)}
	var tp, fp, fn, ok int
	for i, e := range test {
		switch e.Label {
		case "negative", "neutral", "positive":
		default:
			return r, fmt.Errorf("example %d: label %q is not negative, neutral or positive", i+1, e.Label)
		}
		got := s.Score(e.Text)
		pred := "neutral"
		switch {
		case got.Negative:
			pred = "negative"
		case got.Score > PositiveThreshold:
			pred = "positive"
		}
		if e.Label == "negative" {
			r.Negatives++
		}
		switch {
		case pred == "negative" && e.Label == "negative":
			tp++
		case pred == "negative":
			fp++
		case e.Label == "negative":
			fn++
		}
		if pred == e.Label {
			ok++
		}
	}
	r.NegativePrecision = ratio(tp, tp+fp)
	r.NegativeRecall = ratio(tp, tp+fn)
	if p, rc := r.NegativePrecision, r.NegativeRecall; p+rc > 0 {
		r.NegativeF1 = 2 * p * rc / (p + rc)
	}
	r.Accuracy = ratio(ok, len(test))
	return r, nil
}
