package nlu

import (
	"strings"
	"unicode/utf8"
)

// Built-in concepts: words customers use for the same thing in support
// questions, Russian and English, written by the team. A word that belongs to
// a concept adds the concept as one more word feature (it keeps its own
// stem too), in training and in classifying, so "привезёте" finds an FAQ
// entry that only says "доставка", and "ways to pay" one that says "payment
// methods". They are roots matched as word prefixes, because Snowball
// leaves colloquial verb forms apart ("привезут", "привезет", "привезт").
//
// Keep the groups small and general: a concept shared by two FAQ entries
// pulls them together. Project-specific words belong in the project's own
// synonyms (Options.Synonyms).
var concepts = []struct {
	name  string
	roots []string // prefixes of normalised words, 3+ letters
	words []string // whole words only (short or ambiguous as prefixes)
}{
	{"deliver", []string{"достав", "привез", "привоз", "довез", "завез", "подвез", "отправ", "курьер",
		"deliver", "shipping", "courier"}, []string{"ship", "ships", "shipped", "привезти"}},
	{"pay", []string{"оплат", "оплач", "заплат", "платит", "плачу", "платеж", "payment", "paying"},
		[]string{"pay", "pays", "paid", "платить"}},
	{"way", []string{"способ", "вариант", "option", "method"}, []string{"way", "ways"}},
	{"price", []string{"стоимост", "цен", "почем", "price", "cost"}, []string{"стоит"}},
	{"return", []string{"возврат", "вернут", "вернет", "вернуть", "верните", "refund"}, []string{"return", "returns", "returning"}},
	{"cancel", []string{"отмен", "отказат", "отказа", "cancel"}, nil},
	{"order", []string{"заказ", "посылк", "покупк", "parcel", "package"}, []string{"order", "orders"}},
	// Times of day: "привезите вечером", "deliver in the morning".
	{"daytime", []string{"утром", "вечер", "ночью", "morning", "evening", "afternoon"},
		[]string{"днем", "night", "tonight"}},
	// "поменять" is not here: it changes a delivery date as often as a size;
	// nor "телефон"/"phone" in contact: a shop sells phones ("do you sell
	// phones on credit" went to the contacts entry).
	{"exchange", []string{"обмен", "exchang", "swap"}, nil},
	{"defect", []string{"брак", "сломал", "слома", "поломк", "неисправ", "дефект", "defect", "faulty", "broke"}, nil},
	{"warranty", []string{"гарант", "warrant", "guarant"}, nil},
	{"discount", []string{"скидк", "промокод", "промо", "купон", "кэшбэк", "кешбэк", "кэшбек", "кешбек",
		"discount", "coupon", "promo", "voucher", "cashback"}, nil},
	{"contact", []string{"email", "почт", "связат", "связь", "contact"}, []string{"mail"}},
	{"pickup", []string{"самовывоз", "pickup", "постамат"}, []string{"пвз"}},
	{"schedule", []string{"график", "расписан", "schedule"}, nil},
}

// phrases map phrases to a concept that no single word of them carries.
// They are matched on stems ("сколько стоят" too). "Во сколько" and "what
// time" are deliberately not a concept: they ask about opening hours as
// often as about a delivery slot, and the verb next to them decides.
var phrases = map[string]string{
	"сколько стоит": "price",
	"how much":      "price",
	"пункт выдачи":  "pickup",
	"пункты выдачи": "pickup",
	"pick up":       "pickup",
	"режим работы":  "schedule",
	"часы работы":   "schedule",
	"opening hours": "schedule",
	"working hours": "schedule",
}

// conceptPhrases is phrases keyed by the stems of their words.
var conceptPhrases = func() map[string]string {
	m := make(map[string]string, len(phrases))
	for p, c := range phrases {
		ws := strings.Fields(p)
		for i, w := range ws {
			ws[i] = stemUncached(w)
		}
		m[strings.Join(ws, " ")] = c
	}
	return m
}()

// phraseHeads are the first stems of conceptPhrases: only a word with one
// of them starts a phrase lookup.
var phraseHeads = func() map[string]bool {
	m := map[string]bool{}
	for k := range conceptPhrases {
		m[strings.Fields(k)[0]] = true
	}
	return m
}()

// conceptOf returns the built-in concept of one normalised word, or "".
func conceptOf(word string) string {
	if utf8.RuneCountInString(word) < 3 {
		return ""
	}
	for _, c := range concepts {
		for _, w := range c.words {
			if word == w {
				return c.name
			}
		}
		for _, r := range c.roots {
			if strings.HasPrefix(word, r) {
				return c.name
			}
		}
	}
	return ""
}

// maxPhraseWords is the longest phrase in conceptPhrases.
const maxPhraseWords = 3

// phraseConcept returns the concept of the stems starting at i that form a
// known phrase, longest first, and how many words it spans; key is scratch.
func phraseConcept(stems []string, i int, key []byte) (string, int, []byte) {
	for n := min(maxPhraseWords, len(stems)-i); n >= 2; n-- {
		key = key[:0]
		for k, s := range stems[i : i+n] {
			if k > 0 {
				key = append(key, ' ')
			}
			key = append(key, s...)
		}
		if c, ok := conceptPhrases[string(key)]; ok {
			return c, n, key
		}
	}
	return "", 0, key
}

// colloquial maps chat spellings to the words they stand for, where neither
// a stem nor typo repair gets there ("скока" is two letters from
// "сколько", "u" is one). A word is replaced only when the training words
// do not know it, so a project that lists "спс" keeps its own reading.
var colloquial = map[string][]string{
	"скока": {"сколько"}, "скоко": {"сколько"}, "скольк": {"сколько"}, "сколка": {"сколько"},
	"че": {"что"}, "чо": {"что"}, "шо": {"что"}, "чего": {"что"},
	"щас": {"сейчас"}, "ща": {"сейчас"}, "счас": {"сейчас"},
	"спс": {"спасибо"}, "пасиб": {"спасибо"}, "пасибо": {"спасибо"}, "сенкс": {"спасибо"},
	"плиз": {"пожалуйста"}, "пжл": {"пожалуйста"}, "пж": {"пожалуйста"}, "пжлст": {"пожалуйста"}, "плз": {"пожалуйста"},
	"мб": {"может", "быть"}, "оч": {"очень"}, "норм": {"нормально"}, "прив": {"привет"}, "приветик": {"привет"}, "приветики": {"привет"}, "здрасьте": {"здравствуйте"},
	"тыщ": {"тысяч"}, "тыщи": {"тысячи"}, "руб": {"рублей"}, "р": {"рублей"},
	"u": {"you"}, "ur": {"your"}, "r": {"are"}, "pls": {"please"}, "plz": {"please"}, "thx": {"thanks"},
	"ty": {"thank", "you"}, "wanna": {"want", "to"}, "gonna": {"going", "to"}, "gotta": {"have", "to"},
	"whats": {"what", "is"}, "wheres": {"where", "is"}, "hows": {"how", "is"}, "cant": {"can", "not"},
	"wont": {"will", "not"}, "dont": {"do", "not"}, "didnt": {"did", "not"}, "doesnt": {"does", "not"},
	"isnt": {"is", "not"}, "im": {"i", "am"}, "ive": {"i", "have"}, "asap": {"as", "soon", "as", "possible"},
	"tmrw": {"tomorrow"}, "tmr": {"tomorrow"}, "2day": {"today"}, "2morrow": {"tomorrow"},
}
