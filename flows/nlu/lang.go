package nlu

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// DetectLanguage tells the language of one message: "ru" or "en", by the
// majority of its letters, counting a Latin word as Russian when it reads
// as transliterated Russian ("skolko stoit dostavka", "gde moi zakaz",
// "privet"); "" when the message is too short or ambiguous to tell (digits,
// emoji, "ok", "да", an even mix), when the caller should keep the
// conversation's language. The engine calls it on every message: it costs
// under a microsecond and allocates only the first time it reads a Latin
// word that no list knows (the transliteration is cached). Ukrainian is
// reported as "ru" and French as "en": it tells apart the two languages a
// bot answers in, not every language.
func DetectLanguage(text string) string {
	text = clipText(text)
	var ru, en int
	var word [maxLangWord]byte
	n, latin, other := 0, true, false
	flush := func() {
		if n > 0 && !other {
			w := word[:n]
			switch {
			case !latin:
				ru += utf8.RuneCount(w)
			default:
				switch latinLanguage(w) {
				case "ru":
					ru += n
				case "en":
					en += n
				}
			}
		}
		n, latin, other = 0, true, false
	}
	for _, r := range text {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			if n < len(word) {
				word[n] = byte(unicode.ToLower(r))
				n++
			}
		case unicode.Is(unicode.Cyrillic, r):
			latin = false
			if n+utf8.RuneLen(r) <= len(word) {
				n += utf8.EncodeRune(word[n:], unicode.ToLower(r))
			}
		case isApostrophe(r) && n > 0:
			// "don't", "skol'ko": inside the word.
		case unicode.IsLetter(r):
			other = true // another script: counts for neither
		default:
			flush()
		}
	}
	flush()
	// A lone word of two letters ("ok", "no", "да") says too little.
	if ru+en < minLangLetters {
		return ""
	}
	switch {
	case ru > en:
		return "ru"
	case en > ru:
		return "en"
	}
	return ""
}

// maxLangWord bounds the bytes of a word DetectLanguage looks at.
const maxLangWord = 48

// minLangLetters: fewer letters in words of a known language tell nothing.
const minLangLetters = 3

// latinLanguage reads one lower-case Latin word: "en" for an English word
// (or one that does not read as Russian), "ru" for transliterated Russian,
// "" for words both languages use ("ok", "wow").
func latinLanguage(w []byte) string {
	if neutralWords[string(w)] {
		return ""
	}
	if englishWords[string(w)] {
		return "en"
	}
	if ruWordKnown(Transliterate(string(w))) {
		return "ru"
	}
	if translitScore(w) > 0 {
		return "ru"
	}
	return "en"
}

// ruWordKnown reports whether a transliterated word is a common Russian
// word, ignoring the letters transliteration loses (ь, ъ; й and и; э and
// е; ы and и).
func ruWordKnown(cyr string) bool {
	if cyr == "" {
		return false
	}
	var buf [2 * maxLangWord]byte
	k := looseKey(buf[:0], cyr)
	if _, ok := russianWords[string(k)]; ok {
		return true
	}
	// Word forms: the stem of a common word ("zakaza", "dostavku").
	_, ok := russianStems[Stem(string(k))]
	return ok && utf8.RuneCount(k) >= 4
}

// looseKey folds the letters that transliteration confuses.
func looseKey(dst []byte, cyr string) []byte {
	for _, r := range cyr {
		switch r {
		case 'ь', 'ъ':
			continue
		case 'й', 'ы':
			r = 'и'
		case 'э':
			r = 'е'
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// translitScore counts letter patterns of transliterated Russian against
// those of English in a word that neither list knows.
func translitScore(w []byte) int {
	s := 0
	for _, p := range ruPatterns {
		if strings.Contains(string(w), p) {
			s++
		}
	}
	for _, p := range ruEndings {
		if strings.HasSuffix(string(w), p) && len(w) > len(p)+1 {
			s++
		}
	}
	for _, p := range enPatterns {
		if strings.Contains(string(w), p) {
			s--
		}
	}
	for _, p := range enEndings {
		if strings.HasSuffix(string(w), p) && len(w) > len(p)+1 {
			s--
		}
	}
	return s
}

var (
	ruPatterns = []string{"zh", "kh", "shch", "sch", "ya", "yu", "yy", "iy", "ij", "tsy", "vl", "zd", "zv", "vk", "vsh"}
	ruEndings  = []string{"ogo", "ego", "oy", "ov", "ev", "aya", "uyu", "tsya", "tsa", "nie", "niya", "ishch", "ka", "ki", "ku", "at", "it", "et", "ut", "yat"}
	enPatterns = []string{"th", "w", "ee", "oo", "ou", "ea", "ck", "qu", "gh", "wh", "ph", "x"}
	enEndings  = []string{"ing", "tion", "ed", "ly", "ness", "ment", "able", "ful", "less", "s"}
)

// neutralWords are said in both languages or in none.
var neutralWords = setOf("ok okay okey oki lol wow hmm hm mm ah oh eh ha haha hehe xd omg ps pls plz thx yo bla")

// englishWords are common English words, mostly those a customer writes in
// a support chat; a word here is never read as transliterated Russian.
var englishWords = setOf(`a an the i me my mine you your we our us they them their he him his she her it its this that these those
is are was were be been am do does did done have has had will would can could should shall may might must
not no yes yeah yep nope and or but if so as at by for from in into of on to with without about over under up down out off
what when where who whom why how which there here than then too very just also only still again already now today tomorrow yesterday
hi hello hey thanks thank please sorry bye goodbye good bad great fine nice
order orders delivery deliver shipping ship ships shipped package parcel item items product refund return returns money pay paid payment
card cash price cost costs much many time day days week hour hours open close closed help support agent human person operator manager
want need get got send sent make made take took give gave know tell call ask see look find use work works working cancel change
long soon late early morning evening night weekend account password email phone number address status track tracking
one two three first last next new old all any some more most other same each every`)

// russianWords are common Russian words as transliterated readings find
// them (loose keys: no ь or ъ; й, ы -> и; э -> е).
var russianWords = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, w := range strings.Fields(`я ты вы он она оно мы они мой моя мое мои твой ваш ваша ваше ваши наш его ее их это этот эта эти тот там тут здесь
где когда как какой какая какое какие кто что чем чего почему зачем сколько куда откуда долго скоро уже еще ещё
да нет не ни но и а или если то же ли бы вот так тоже очень можно нельзя нужно надо хочу хотел хотела могу может
привет здравствуйте здрасте добрый день утро вечер спасибо пожалуйста пока до свидания помогите помощь подскажите скажите
заказ заказа заказу заказы посылка доставка доставку доставки оплата оплату оплатить карта картой наличными деньги возврат вернуть
товар цена стоит стоимость скидка курьер магазин адрес телефон номер статус отмена отменить работаете работает открыто закрыто
оператор человек менеджер жалоба проблема ошибка плохо хорошо отлично нормально сегодня завтра вчера сейчас потом время часов
есть был была было были будет буду будем привезут придет пришел пришла пришло получить получил отправили отправить доставите
мне меня вам вас нам нас ему ей им у в на с со к ко по за из от для про без при через под над`) {
		m[string(looseKey(nil, w))] = struct{}{}
	}
	return m
}()

// russianStems are the stems of russianWords of four letters or more, so
// that other forms of them count ("заказом", "доставкой").
var russianStems = func() map[string]struct{} {
	m := map[string]struct{}{}
	for w := range russianWords {
		if utf8.RuneCountInString(w) >= 4 {
			m[stemUncached(w)] = struct{}{}
		}
	}
	return m
}()
