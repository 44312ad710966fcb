package nlu

import (
	"regexp"
	"strings"
	"testing"
)

// escalates is the demo project's rule (flows/demo/project/parley.yaml) for
// handing a message to a person: negative, and strongly so or not a question.
func escalates(s Sentiment, text string) bool {
	q := strings.Contains(text, "?") || demoQuestion.MatchString(Normalize(text))
	return s.Negative && (s.Score <= -0.5 || !q)
}

var demoQuestion = regexp.MustCompile(`^(как|где|когда|куда|можно|сколько|почему|зачем|что|какой|какая|how|can|could|where|when|what|why|is|are|do|does)( |$)`)

// TestScorerIssue12 holds the cases of issue 12 and more in their spirit:
// negation, intensity and the target decide, not a single word.
func TestScorerIssue12(t *testing.T) {
	s := NewScorer()
	type want int
	const (
		calm     want = iota // not negative
		positive             // not negative and above PositiveThreshold
		noEscal              // may lean negative, but the demo must not escalate it
		negative             // negative and escalated
	)
	for _, tc := range []struct {
		text string
		want want
	}{
		// "можно" is a question word; only "сколько можно" as a complaint.
		{"можно приехать в субботу?", calm},
		{"до скольки можно забрать заказ", calm},
		{"До скольки можно забрать заказ в пункте выдачи?", calm},
		{"сколько можно оплатить бонусами?", calm},
		{"Сколько можно заказать за один раз?", calm},
		{"сколько можно хранить заказ в пункте выдачи", calm},
		{"сколько можно ждать?!", negative},
		{"сколько можно, третью неделю жду", negative},
		{"Сколько можно?!", negative},
		{"Да сколько можно уже!", negative},
		// out of scope is not negative
		{"расскажи анекдот", calm},
		{"tell me a joke", calm},
		{"Tell me a joke please", calm},
		{"какая погода завтра?", calm},
		// returns of defective items are questions first
		{"как вернуть бракованный товар?", noEscal},
		{"пришла сломанная вещь, как оформить возврат", noEscal},
		{"Пришёл бракованный чайник, что делать?", noEscal},
		{"how do I return a defective item?", noEscal},
		{"the item arrived damaged, how can I get a replacement?", noEscal},
		{"прислали брак, это уже третий раз, безобразие", negative},
		{"Опять прислали брак! Сколько можно!", negative},
		// a lost customer
		{"ноги моей у вас больше не будет", negative},
		{"Ноги моей больше здесь не будет!", negative},
		{"больше никогда у вас ничего не куплю", negative},
		{"больше у вас не закажу", negative},
		{"никогда больше не буду у вас заказывать", negative},
		{"Больше не покупаю в этом магазине", negative},
		{"never ordering from you again", negative},
		{"I'm done with this shop", negative},
		{"I will never buy from you again", negative},
		{"Never shopping here again.", negative},
		{"I'm done with you guys", negative},
		{"удаляю приложение, больше не пользуюсь", negative},
		// praise that names delivery or the order
		{"курьер приехал вовремя, молодцы", positive},
		{"заказ пришёл быстро, спасибо", positive},
		{"great delivery, thanks!", positive},
		{"не ожидал, что так быстро привезут", positive},
		{"Не думал, что доставят так быстро, спасибо!", positive},
		{"never expected the order to arrive so fast", positive},
		{"Доставка без задержек, всё целое, спасибо", positive},
		{"заказ пришёл целым и без опозданий", positive},
		{"no problems with the delivery at all, thank you", positive},
		{"Курьер не опоздал, вежливый", positive},
		{"Спасибо, что так быстро решили проблему", positive},
		{"thanks for sorting out my problem so quickly", positive},
		// long angry descriptions
		{"Это отвратительный сервис, третью неделю жду посылку, верните деньги!", negative},
		{"Третью неделю жду посылку, никто ничего не может сказать", negative},
		{"I've been waiting three weeks for my parcel and nobody tells me anything. Refund me.", negative},
		{"Заказал 2 недели назад, до сих пор ничего нет, на звонки никто не отвечает", negative},
		// what was not done is a grievance; what the customer lacks or
		// does not know asks for help
		{"мне так и не перезвонили", negative},
		{"Курьер не приехал", negative},
		{"заказ так и не доставили", negative},
		{"they didn't deliver my order", negative},
		{"я пока не заказывал, хочу узнать про доставку", calm},
		{"у меня нет карты", calm},
		{"I don't have an account yet", calm},
		{"не помню номер заказа", calm},
		{"не знаю, какой размер выбрать", calm},
		{"Это не срочно", calm},
		{"не подходит размер, хочу обменять", calm},
		{"I haven't ordered yet", calm},
		// a thing denied after it, a dislike in a return question, a
		// delivery still expected, rhetorical "is this normal"
		{"претензий нет, всё отлично", positive},
		{"проблем нет, спасибо", positive},
		{"Платье не понравилось, можно его вернуть?", noEscal},
		{"мне не понравилось, как со мной говорил курьер", negative},
		{"посылка ещё не пришла", calm},
		{"my parcel hasn't arrived yet", calm},
		{"месяц жду доставку, это вообще нормально?", negative},
		{"привезли не тот товар", negative},
		{"курьер нагрубил", negative},
		{"коробка мятая, всё разбито", negative},
		{"tracking says delivered but I never got it", negative},
		// drawn-out letters
		{"ужаааас", negative},
		{"this is sooo baaad", negative},
		// Russian typed in Latin letters, read as Russian
		{"zhaloba na kurera, on nagrubil", negative},
		{"vy izdevaetes? gde moy zakaz uzhe mesyac", negative},
		{"skolko mozhno zhdat?!", negative},
		{"do skolki mozhno zabrat zakaz", calm},
		{"spasibo, vse otlichno", positive},
		// ordinary questions stay with the bot
		{"почему не приходит смс?", noEscal},
		{"как отменить заказ", calm},
		{"Можно ли вернуть товар без чека?", calm},
		{"нельзя ли доставить завтра?", calm},
		{"Why hasn't my order arrived yet?", noEscal},
		{"агент Смит", calm},
	} {
		got := s.Score(tc.text)
		var ok bool
		switch tc.want {
		case calm:
			ok = !got.Negative
		case positive:
			ok = !got.Negative && got.Score > PositiveThreshold
		case noEscal:
			ok = !escalates(got, tc.text)
		case negative:
			ok = got.Negative && escalates(got, tc.text)
		}
		if !ok {
			t.Errorf("Score(%q) = %.2f negative=%v %q; want %v", tc.text, got.Score, got.Negative, got.Evidence,
				[]string{"calm", "positive", "not escalated", "negative and escalated"}[tc.want])
		}
	}
}

// TestScorerReadsTransliteration: a Latin-letter Russian message is scored
// as its Cyrillic reading and says so; English is not touched.
func TestScorerReadsTransliteration(t *testing.T) {
	s := NewScorer()
	if got := s.Score("uzhasny servis"); !got.Negative || !hasEvidence(got, "read as Russian: ужасны сервис") {
		t.Errorf("transliterated complaint: %.2f %q", got.Score, got.Evidence)
	}
	for _, text := range []string{"I hate this", "this is so bad", "where is my order"} {
		if got := s.Score(text); hasEvidence(got, "read as Russian") {
			t.Errorf("English %q read as Russian: %q", text, got.Evidence)
		}
	}
}

// BenchmarkScorePreparedSupport scores prepared support messages, short
// and long, as the engine does per message.
func BenchmarkScorePreparedSupport(b *testing.B) {
	s := NewScorer()
	var ps []*Prepared
	for _, t := range []string{
		"Это отвратительный сервис, третью неделю жду посылку, верните деньги!",
		"до скольки можно забрать заказ",
		"больше никогда у вас ничего не куплю",
		"курьер приехал вовремя, молодцы",
		"пришла сломанная вещь, как оформить возврат",
		"I'm done with this shop",
		"мне так и не перезвонили",
		"Where is my order?",
		"vy izdevaetes? gde moy zakaz",
	} {
		ps = append(ps, Prepare(t))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.ScorePrepared(ps[i%len(ps)])
	}
}
