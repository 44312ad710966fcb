package nlu

import "strings"

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
	howWords = setOf(`как где куда можно ли how where can could`)
	notHow   = setOf(`всегда обычно будто и так бы же минимум раз всегда можно`)
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
	cue, neg := -1, -1
	more, future := false, false
	for i, t := range toks {
		switch {
		case t == "больше" || t == "никогда" || t == "никому" || t == "ноги" || t == "ногой":
			if cue < 0 {
				cue = i
			}
			more = more || t != "никогда"
		case t == "done" && i+1 < len(toks) && toks[i+1] == "with" && i+2 < len(toks) && doneWith[toks[i+2]]:
			return i, i + 3, true
		case negators[t]:
			if neg < 0 || i-neg > 4 {
				neg = i
			}
		case t == "never" && cue < 0:
			cue = i
		}
		if neg >= 0 && i > neg && i-neg <= 4 {
			if lostVerbsRU[t] || (t == "будет" && cue >= 0 && (toks[cue] == "ноги" || toks[cue] == "ногой")) {
				future = futureForms[t] || t == "будет"
				if cue >= 0 && (more || future) {
					return min(cue, neg), i + 1, true
				}
			}
			if lostVerbsEN[t] {
				for _, u := range toks[i+1:] {
					if u == "again" || u == "anymore" || u == "here" || u == "from" {
						return min(max(cue, 0), neg), i + 1, true
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
