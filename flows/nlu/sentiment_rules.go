package nlu

import (
	"strings"
	"unicode/utf8"
)

// Rules that read a complaint's target and idiom rather than its words:
// "сколько можно" as an outcry or a question, a customer who will not come
// back, a question that names a defect.

// complaintIdioms are complaint phrases that also begin ordinary questions;
// idiomHolds decides which one a message is.
var complaintIdioms = map[string]bool{"сколько можно": true}

// idiomHolds reports whether "сколько можно" at sp is the outcry ("сколько
// можно ждать?!", "сколько можно, третью неделю жду") and not a question
// ("до скольки можно забрать заказ", "сколько можно оплатить бонусами"):
// not after "до", and followed by nothing, by a word of enduring
// ("ждать", "терпеть") or by anything but another infinitive.
func idiomHolds(toks []string, sp span) bool {
	if sp.from > 0 && (toks[sp.from-1] == "до" || toks[sp.from-1] == "со") {
		return false
	}
	if strings.HasPrefix(toks[sp.from], "скольк") && toks[sp.from] != "сколько" {
		return false // "скольки", "сколькими": a question of time or amount
	}
	for _, t := range toks[sp.to:] {
		switch {
		case idiomFillers[t]:
			continue
		case enduringVerbs[t]:
			return true
		default:
			return !isInfinitive(t)
		}
	}
	return true
}

// idiomFillers may stand between "сколько можно" and its verb.
var idiomFillers = setOf(`уже же это вам вы нам мне меня нас тут так ну блин еще ещё`)

// enduringVerbs make "сколько можно" an outcry.
var enduringVerbs = setOf(`ждать терпеть издеваться писать звонить повторять обманывать тянуть
	кормить просить говорить объяснять ходить мучить мучать мурыжить отписываться динамить
	ездить переносить откладывать врать ждем жду`)

// isInfinitive: Russian infinitives end in -ть, -ться, -ти, -чь.
func isInfinitive(t string) bool {
	return strings.HasSuffix(t, "ть") || strings.HasSuffix(t, "ться") || strings.HasSuffix(t, "ти") || strings.HasSuffix(t, "чь")
}

// asksHow finds a question asked without a question mark ("пришла
// сломанная вещь, как оформить возврат"): a question word at a clause's
// start or "как" before a verb, not "как всегда".
func asksHow(toks []string) bool {
	for i, t := range toks {
		if !howWords[t] {
			continue
		}
		if t == "как" && i+1 < len(toks) && notHow[toks[i+1]] || t == "можно" && i > 0 && toks[i-1] == "сколько" {
			continue // "как всегда", the outcry "сколько можно"
		}
		if t == "can" || t == "could" || t == "how" || t == "where" {
			if i+1 < len(toks) && (toks[i+1] == "i" || toks[i+1] == "you" || toks[i+1] == "we" || toks[i+1] == "do" || toks[i+1] == "to") {
				return true
			}
			continue
		}
		return true
	}
	return false
}

var (
	howWords = setOf(`как где куда можно ли почему how where can could`)
	notHow   = setOf(`всегда обычно будто и так бы же минимум раз можно со с он она они это`)
)

// lostCustomerValence is a demand's: the customer is leaving.
const lostCustomerValence = -3.5

// lostCustomer finds a customer saying they will not buy again: "больше
// никогда у вас ничего не куплю", "больше не буду заказывать", "ноги моей
// у вас не будет", "never ordering from you again", "I'm done with this
// shop". It returns the words from the first cue to the verb. A habit
// ("никогда не пользуюсь приложением", "I never use the app") is not one:
// Russian needs "больше" or a verb in the future, English "again",
// "anymore", "here" or "from" after the verb.
func lostCustomer(toks []string) (from, to int, ok bool) {
	cue, neg := -1, -1 // the first cue word; the latest negator
	more := false      // a cue other than "никогда": "больше", "никому", "ноги"
	for i, t := range toks {
		switch {
		case t == "больше" || t == "никогда" || t == "никому" || t == "ноги" || t == "ногой":
			if cue < 0 {
				cue = i
			}
			more = more || t != "никогда"
		case t == "done" && i+1 < len(toks) && toks[i+1] == "with" && i+2 < len(toks) && doneWith[toks[i+2]]:
			return i, i + 3, true
		case negators[t]: // "never" too
			if neg < 0 || i-neg > 4 {
				neg = i
			}
		}
		if neg >= 0 && i > neg && i-neg <= 4 {
			if lostVerbsRU[t] || (t == "будет" && cue >= 0 && (toks[cue] == "ноги" || toks[cue] == "ногой")) {
				if cue >= 0 && (more || futureForms[t] || t == "будет") {
					return min(cue, neg), i + 1, true
				}
			}
			if lostVerbsEN[t] {
				for _, u := range toks[i+1:] {
					if u == "again" || u == "anymore" || u == "here" || u == "from" {
						if cue >= 0 && cue < neg {
							return cue, i + 1, true
						}
						return neg, i + 1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

var (
	lostVerbsRU = setOf(`куплю покупаю закажу заказываю воспользуюсь пользуюсь обращусь обращаюсь
		приду приеду зайду порекомендую посоветую рекомендую советую возьму беру покупать
		заказывать пользоваться обращаться брать рекомендовать советовать`)
	futureForms = setOf(`куплю закажу воспользуюсь обращусь приду приеду зайду порекомендую
		посоветую возьму покупать заказывать пользоваться обращаться брать рекомендовать советовать`)
	lostVerbsEN = setOf(`order ordering buy buying shop shopping use using come coming recommend
		recommending deal dealing purchase purchasing`)
	doneWith = setOf(`you this your these`)
)

// unmetVerb reports whether the negated word at i is a verb of something
// not done ("не перезвонили", "didn't deliver"), rather than "нет карты",
// "не дорого" or a verb of not knowing or not being able ("не могу",
// "не знаю", "don't have"), which asks for help.
func unmetVerb(toks []string, i int) bool {
	t, neg := toks[i], toks[i-1]
	if helpVerbs[t] || i+1 < len(toks) && toks[i+1] == "yet" {
		return false
	}
	// What the customer has not done themselves ("я пока не заказывал",
	// "I haven't ordered yet") is news about them, not a grievance.
	for j := max(0, i-4); j < i-1; j++ {
		if selfWords[toks[j]] {
			return false
		}
	}
	switch neg {
	case "не", "ни":
		for _, e := range ruVerbEndings {
			if strings.HasSuffix(t, e) {
				return true
			}
		}
		return false
	case "нет", "no", "without", "без", "none", "nothing", "nobody", "neither", "nor":
		return false // a thing missing, not a deed undone
	}
	return true
}

// ruVerbEndings: past, present and infinitive endings of Russian verbs;
// adverbs and nouns ("не дорого", "не проблема") end otherwise.
var ruVerbEndings = []string{"л", "ла", "ло", "ли", "ет", "ют", "ут", "ит", "ат", "ят", "ешь", "ишь", "ть", "ся", "сь"}

var selfWords = setOf(`я мы пока i we yet`)

// helpVerbs after a negator ask for help rather than complain.
var helpVerbs = setOf(`могу можем может можете могла мог смог смогла знаю знаем помню понимаю понял
	поняла вижу нашел нашла найду подошел подошла подошло подходит подходят хочу хотим нужно надо
	нужен нужна пришлось получается получилось уверен уверена
	have has know understand remember see find found fit fits want need sure think mind`)

// stillExpected: "ещё", "пока" or "yet" next to a failure report ("мой заказ
// ещё не пришёл", "hasn't arrived yet") say the customer still expects it.
func stillExpected(toks []string, sp span) bool {
	for i := max(0, sp.from-2); i < min(len(toks), sp.to+2); i++ {
		switch toks[i] {
		case "еще", "пока", "yet":
			return true
		}
	}
	return false
}

// readAsRussian returns text with its Latin words read as Russian
// ("uzhasny servis" → "ужасны сервис"), punctuation and shouted words
// kept, when the message has no Cyrillic word and DetectLanguage takes it
// for Russian typed in Latin letters; otherwise "". Other messages cost a
// look at each word's bytes and, when all are Latin, DetectLanguage.
func (s *Scorer) readAsRussian(p *Prepared) string {
	latin := false
	for _, t := range p.toks {
		for i := 0; i < len(t); i++ {
			if t[i] >= utf8.RuneSelf {
				return ""
			}
		}
		latin = latin || t[0] >= 'a' && t[0] <= 'z'
	}
	if !latin || DetectLanguage(p.Text) != "ru" {
		return ""
	}
	var b strings.Builder
	text := p.Text
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && isASCIILetter(text[j]) {
			j++
		}
		if j == i {
			b.WriteByte(text[i])
			i++
			continue
		}
		run := text[i:j]
		i = j
		ru := Transliterate(strings.ToLower(run))
		switch {
		case ru == "":
			b.WriteString(run)
		case len(run) > 1 && run == strings.ToUpper(run):
			b.WriteString(strings.ToUpper(s.softSign(ru)))
		default:
			b.WriteString(s.softSign(ru))
		}
	}
	return b.String()
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// softSign restores a soft sign the Latin spelling dropped ("zhdat" →
// "ждать", "skolko" → "сколько", "izdevaetes" → "издеваетесь") when the
// word as read is not in the lexicons and one soft sign after a consonant
// makes a word that is.
func (s *Scorer) softSign(w string) string {
	if s.knows(w) {
		return w
	}
	rs := []rune(w)
	for i := 1; i <= len(rs); i++ {
		if !strings.ContainsRune("бвгджзклмнпрстфхцчшщ", rs[i-1]) {
			continue
		}
		v := string(rs[:i]) + "ь" + string(rs[i:])
		if s.knows(v) {
			return v
		}
	}
	return w
}

// knows reports whether a Cyrillic word is in the lexicons or the complaint
// phrases, by itself or by its stem.
func (s *Scorer) knows(w string) bool {
	if _, ok := s.exact[w]; ok {
		return true
	}
	st := Stem(w)
	if _, ok := s.stems[st]; ok {
		return true
	}
	return s.phraseStems[st]
}
