package nlu

import (
	"slices"
	"strings"
)

// humanPhrases are explicit requests for a person, as normalised word
// sequences; every word is matched by its stem, so "оператора",
// "операторы" and "позовите менеджера" all fire.
var humanPhrases = []string{
	// Russian
	"живой человек", "живого человека", "живым человеком", "с человеком",
	"позовите человека", "позови человека", "нужен человек", "хочу человека",
	"соедините с", "переключите на", "свяжите меня", "не бот",
	"не с ботом", "не хочу с ботом", "не хочу разговаривать с ботом", "не хочу общаться с ботом",
	"техподдержка", "служба поддержки",
	// English
	"real person", "live person", "real human", "talk to someone", "speak to someone",
	"talk to a person", "speak to a person", "customer service", "representative",
	"support team", "not a bot", "stop bot", "dont want to talk to a bot", "dont want a bot",
	"no bots",
}

// humanRoles name a person to talk to. Alone they are also said in passing
// ("мой менеджер сказал", "the operator of this site"), so they count when
// the message is a bare call ("оператор!", "agent please") or asks for
// someone ("позовите", "дайте", "с оператором", "talk to", "need").
var humanRoles = []string{
	"оператор", "менеджер", "консультант", "специалист", "человек", "сотрудник",
	"human", "agent", "operator", "manager", "person", "someone", "staff",
}

// humanCues make a role word a request.
var humanCues = stemSet(`позовите позови дайте дай нужен нужна нужно хочу можно соедините
	соедини переключите переведите переведи свяжите пригласите пусть с со
	talk speak connect transfer get give want need let can could please to with`)

// humanExclusions are phrases that contain a trigger word without asking for
// a person.
var humanExclusions = []string{"user agent", "travel agent", "secret agent", "human error", "human rights", "human resources"}

var (
	humanMatcher     = newPhraseMatcher(humanPhrases, 0)
	humanRoleMatcher = newPhraseMatcher(humanRoles, 0)
	humanExclMatcher = newPhraseMatcher(humanExclusions, 0)
)

// RequestsHuman reports whether text explicitly asks for a person
// ("оператор", "живой человек", "позовите менеджера", "human", "agent") and
// returns the phrases that matched, as written in the message.
func RequestsHuman(text string) (bool, []string) {
	p := getPrepared(text)
	defer putPrepared(p)
	return RequestsHumanPrepared(p)
}

// RequestsHumanPrepared is RequestsHuman on a prepared message.
func RequestsHumanPrepared(p *Prepared) (bool, []string) {
	toks, stems := p.toks, p.stems
	var buf [8]span
	spans := humanMatcher.appendSpans(buf[:0], stems)
	if cued := hasAny(stems, humanCues); len(toks) <= 3 || cued {
		n := len(spans)
		spans = humanRoleMatcher.appendSpans(spans, stems)
		// A bare call is the role and call words only: "оператор!",
		// "agent please"; not "Agent Smith", "человек-паук", "оператор
		// связи".
		if !cued && !onlyCallWords(stems, spans[n:]) {
			spans = spans[:n]
		}
	}
	if len(spans) == 0 {
		return false, nil
	}
	var ebuf [4]span
	excl := humanExclMatcher.appendSpans(ebuf[:0], stems)
	var ev []string
	for _, sp := range spans {
		if covered(sp, excl) || declined(toks, sp) {
			continue
		}
		s := strings.Join(toks[sp.from:sp.to], " ")
		if !slices.Contains(ev, s) {
			ev = append(ev, s)
		}
	}
	return len(ev) > 0, ev
}

// declined reports a request said not to be one: a negator up to three
// words before it ("мне не нужен оператор", "не надо оператора", "thanks, I
// don't need an agent"). Phrases that hold their own negator ("не с ботом")
// are not declined by it.
func declined(toks []string, sp span) bool {
	if negators[toks[sp.from]] {
		return false
	}
	for j := sp.from - 1; j >= max(0, sp.from-3); j-- {
		if negators[toks[j]] {
			return true
		}
	}
	return false
}

// callWords may stand beside a role word in a bare call
// ("оператор есть?", "zhivoy operator pozhaluysta": typed in Latin letters too).
var callWords = stemSet(`please pls plz hey hello hi a an the now urgent is there any anyone пожалуйста
	плиз пжлст срочно скорее скорей эй ну уже привет здравствуйте живой живого живая есть тут здесь
	real live pozhaluysta pozhalujsta plz srochno zhivoy zhivoi zhivogo est privet`)

// onlyCallWords reports whether every word outside the role spans is a
// call word.
func onlyCallWords(stems []string, roles []span) bool {
	for i, st := range stems {
		if !callWords[st] && !covered(span{from: i, to: i + 1}, roles) {
			return false
		}
	}
	return true
}

func hasAny(stems []string, set map[string]bool) bool {
	for _, s := range stems {
		if set[s] {
			return true
		}
	}
	return false
}

func covered(sp span, by []span) bool {
	for _, b := range by {
		if sp.from >= b.from && sp.to <= b.to {
			return true
		}
	}
	return false
}

func stemAll(toks []string) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = Stem(t)
	}
	return out
}

// phraseMatcher finds stemmed phrases in stemmed text, allowing up to gap
// extra words between the phrase's words ("верните мне деньги").
type phraseMatcher struct {
	phrases [][]string
	texts   []string
	gap     int
	// byFirst lists, per first stem, the phrases that start with it in
	// phrase order: a word is compared with its few candidates, not with
	// every phrase of the lexicon.
	byFirst map[string][]int
}

// gapWords may stand inside a phrase without breaking it: pronouns and
// particles.
var gapWords = stemSet(`мне мои мой мою нам наши наш вы же уже все всё my me our us the all your you just`)

func stemSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[Stem(Normalize(w))] = true
	}
	return m
}

type span struct{ from, to, phrase int }

func newPhraseMatcher(phrases []string, gap int) *phraseMatcher {
	m := &phraseMatcher{gap: gap, byFirst: map[string][]int{}}
	for _, p := range phrases {
		toks := tokens(Normalize(p))
		if len(toks) == 0 {
			continue
		}
		stems := stemAll(toks)
		m.byFirst[stems[0]] = append(m.byFirst[stems[0]], len(m.phrases))
		m.phrases = append(m.phrases, stems)
		m.texts = append(m.texts, p)
	}
	return m
}

// spans returns every match, longest phrase first at a position; matches
// may overlap.
func (m *phraseMatcher) spans(stems []string) []span { return m.appendSpans(nil, stems) }

// appendSpans appends the matches of spans to out.
func (m *phraseMatcher) appendSpans(out []span, stems []string) []span {
	for i := range stems {
		for _, p := range m.byFirst[stems[i]] {
			ph := m.phrases[p]
			j, k, skipped := i+1, 1, 0
			for k < len(ph) && j < len(stems) {
				if stems[j] == ph[k] {
					k++
				} else if skipped < m.gap && gapWords[stems[j]] {
					skipped++ // "верните МНЕ деньги", "refund me now"
				} else {
					break
				}
				j++
			}
			if k == len(ph) {
				out = append(out, span{from: i, to: j, phrase: p})
			}
		}
	}
	return out
}
