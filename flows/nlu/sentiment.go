package nlu

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
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
	words      map[string]float64 // stem -> valence, about [-4, 4]
	complaints *phraseMatcher
	valence    []float64 // per complaint phrase
	// neutralAfterNegation: words that follow a negator in polite or plain
	// questions ("не могли бы", "не подскажете", "no problem").
	neutralAfterNegation map[string]bool
	threshold            float64
}

// NegativeThreshold is the score at or under which a message is negative.
const NegativeThreshold = -0.25

// NewScorer builds the scorer from the built-in lexicons.
func NewScorer() *Scorer {
	s := &Scorer{words: map[string]float64{}, threshold: NegativeThreshold, neutralAfterNegation: setOf(politeAfterNegation)}
	// Map order is random; walk valences in order so that ties and phrase
	// order (which decides overlapping matches) are the same every run.
	for _, lex := range []map[float64]string{ruLexicon, enLexicon} {
		for _, v := range sortedKeys(lex) {
			for _, w := range strings.Fields(lex[v]) {
				if negators[w] || intensifiers[w] != 0 {
					continue // "не", "очень" change other words, they carry no tone
				}
				key := Stem(Normalize(w))
				if runeLen(key) < 4 {
					// Short stems collide with other words ("горе" and
					// "горы" both stem to "гор"): match the word as written.
					key = "=" + Normalize(w)
				}
				if old, ok := s.words[key]; !ok || math.Abs(v) > math.Abs(old) {
					s.words[key] = v
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
			}
		}
	}
	s.complaints = newPhraseMatcher(phrases, 1)
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
	text = clipText(text)
	var ev []string
	var sum float64
	negatedVerb := false
	var pos float64
	complaint := false
	asks := requestRE.MatchString(strings.ToLower(text))
	for _, clause := range splitClauses(text) {
		v, p, c, nv := s.scoreClause(clause.text, clause.question || asks, &ev)
		sum += v
		pos += p
		complaint = complaint || c
		negatedVerb = negatedVerb || nv
	}
	// A complaint stays a complaint when it is polite: "спасибо" and "хорошего
	// дня" around "не работает интернет" count for little.
	if complaint {
		pos *= 0.3
	}
	sum += pos
	// A negated ordinary verb ("не отвечает", "doesn't load") leans negative
	// but alone stays under the threshold; it tips mixed messages.
	if negatedVerb && sum <= 0 {
		sum -= negatedVerbValence
		ev = append(ev, "negation")
	}
	sum += s.signals(text, sum, &ev)
	score := sum / math.Sqrt(sum*sum+15)
	return Sentiment{Score: score, Negative: score <= s.threshold, Evidence: ev}
}

// negatedVerbValence: sum -0.6 scores -0.15, under NegativeThreshold.
const negatedVerbValence = 0.8

// requestRE finds a request for help or information: a failure report
// inside one is a question first ("не пришел заказ, подскажите статус").
var requestRE = regexp.MustCompile(`подскаж|скажите|помогите|объясните|уточните|\bplease\b|\bcan you\b|\bcould you\b|\bhow (do|can) i\b|\bwhat should i\b`)

// failureReport is the valence of the mildest complaint tier.
const failureReport = -1.5

type clause struct {
	text     string
	question bool // ends with "?"
}

// splitClauses cuts text at sentence punctuation and line breaks.
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

// scoreClause returns the clause's negative and positive valence apart, and
// whether a complaint phrase or a negated ordinary verb was seen.
func (s *Scorer) scoreClause(clause string, question bool, ev *[]string) (sum, pos float64, complaint, negatedVerb bool) {
	toks := tokens(Normalize(clause))
	stems := stemAll(toks)

	// Complaint phrases first; their words are not scored again.
	used := make([]bool, len(toks))
	for _, sp := range s.complaints.spans(stems) {
		if used[sp.from] {
			continue
		}
		for i := sp.from; i < sp.to; i++ {
			used[i] = true
		}
		v := s.valence[sp.phrase]
		if v > failureReport && question {
			v *= 0.7 // "почему не приходит СМС?" asks before it complains
		}
		sum += v
		complaint = true
		*ev = append(*ev, "complaint: "+strings.Join(toks[sp.from:sp.to], " "))
	}

	butAt := -1
	for i, t := range toks {
		if contrastWords[t] {
			butAt = i
		}
	}
	for i, t := range toks {
		if used[i] {
			continue
		}
		v, label := s.wordValence(t, stems[i])
		if v == 0 {
			if i > 0 && negators[toks[i-1]] && !negators[t] && !s.neutralAfterNegation[t] && runeLen(t) > 3 {
				negatedVerb = true
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
		for j := i - 1; j >= max(0, i-3) && !strings.HasPrefix(label, "profanity"); j-- {
			if negators[toks[j]] {
				v *= -0.6
				label += " (negated)"
				break
			}
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

func (s *Scorer) wordValence(tok, stem string) (float64, string) {
	if v, ok := profanityValence(tok); ok {
		if v < 0 {
			return v, "profanity: " + tok
		}
		return v, tok
	}
	if v, ok := s.words["="+tok]; ok {
		return v, tok
	}
	if v, ok := s.words[stem]; ok && runeLen(stem) >= 4 {
		return v, tok
	}
	return 0, ""
}

// signals scores what is not a word: emoticons, emoji, shouting. Shouting
// and exclamation amplify the tone already there; caps alone lean negative.
func (s *Scorer) signals(text string, sum float64, ev *[]string) float64 {
	text = stripLinks(text)
	var add float64
	neg, pos := 0, 0
	for _, e := range negEmoticons {
		neg += strings.Count(text, e)
	}
	for _, e := range posEmoticons {
		pos += strings.Count(text, e)
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
// (МТС, ВТБ, SMS).
func shouting(text string) bool {
	words, caps := 0, 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		words++
		rs := []rune(w)
		if len(rs) < 4 {
			continue
		}
		up := true
		for _, r := range rs {
			if !unicode.IsUpper(r) {
				up = false
				break
			}
		}
		if up {
			caps++
		}
	}
	return caps >= 2 && caps*2 >= words
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
