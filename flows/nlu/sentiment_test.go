package nlu

import (
	"strings"
	"testing"
)

func TestScorerPolarity(t *testing.T) {
	s := NewScorer()
	for _, tc := range []struct {
		text     string
		negative bool
		sign     int // -1 below zero, 0 zero, +1 above zero
	}{
		// plain words and Russian word forms
		{"Это ужасно", true, -1},
		{"ужасный сервис", true, -1},
		{"ужаснейший магазин", true, -1},
		{"отвратительная доставка", true, -1},
		{"Спасибо, всё отлично!", false, 1},
		{"Great service, thank you", false, 1},
		{"Terrible experience", true, -1},
		// neutral
		{"Где мой заказ?", false, 0},
		{"What time do you open", false, 0},
		// negation
		{"не плохо", false, 1},
		{"совсем не плохо", false, 1},
		{"not bad at all", false, 1},
		{"не нравится", true, -1},
		{"это не хорошо", true, -1},
		{"not good", true, -1},
		{"I don't like it", true, -1},
		// complaints without strong words
		{"Верните деньги", true, -1},
		{"верните мне деньги", true, -1},
		{"Буду жаловаться", true, -1},
		{"refund now", true, -1},
		{"приложение не работает уже неделю", true, -1},
		{"still waiting for my parcel", true, -1},
		// profanity and insults
		{"вы что, охуели?", true, -1},
		{"заебали уже", true, -1},
		{"you are idiots", true, -1},
		{"this is bullshit", true, -1},
		{"охуенно, спасибо", false, 1},        // praising slang
		{"страхует ли банк вклады", false, 0}, // "хуе" inside a word is not a swear
		// emoticons
		{"опять задержка((", true, -1},
		{"всё пришло))", false, 1},
	} {
		got := s.Score(tc.text)
		sign := 0
		if got.Score > 0 {
			sign = 1
		} else if got.Score < 0 {
			sign = -1
		}
		if got.Negative != tc.negative || sign != tc.sign {
			t.Errorf("Score(%q) = %.2f negative=%v %v; want negative=%v sign %d",
				tc.text, got.Score, got.Negative, got.Evidence, tc.negative, tc.sign)
		}
		if got.Score < -1 || got.Score > 1 {
			t.Errorf("Score(%q) = %v out of [-1, 1]", tc.text, got.Score)
		}
	}
}

// Ordinary support questions name problems ("ошибка", "declined", "не
// пришел") without being complaints: they must not send the customer to a
// human. The same facts with frustration must.
func TestScorerQuestionsAreNotComplaints(t *testing.T) {
	s := NewScorer()
	for _, text := range []string{
		"Как отменить заказ?",
		"Мой заказ еще не пришел, подскажите статус",
		"Почему не приходит СМС с кодом?",
		"Ошибка при оплате, что делать?",
		"Можно ли вернуть товар, если он не подошел?",
		"Я не могу найти кнопку оплаты",
		"Не могли бы вы помочь с заказом?",
		"Can I cancel my order?",
		"My card was declined, what should I do?",
		"I have a problem with my payment",
		"Your app is not working, please help",
		"What happens if my parcel is lost?",
	} {
		if got := s.Score(text); got.Negative {
			t.Errorf("question %q flagged negative: %.2f %v", text, got.Score, got.Evidence)
		}
	}
	for _, text := range []string{
		"не работает интернет",
		"Опять не работает приложение",
		"СМС не приходит уже третий день",
		"Приложение не работает!!!",
		"Деньги списали дважды, верните!",
		"I did not receive my order and nobody answers",
		"Спасибо, но до сих пор не решили мою проблему",
	} {
		if got := s.Score(text); !got.Negative {
			t.Errorf("complaint %q not flagged: %.2f %v", text, got.Score, got.Evidence)
		}
	}
}

func TestScorerIntensifiersAndShouting(t *testing.T) {
	s := NewScorer()
	for _, pair := range [][2]string{
		{"плохо", "очень плохо"},
		{"bad", "extremely bad"},
		{"это плохой сервис", "ЭТО ПЛОХОЙ СЕРВИС"},
		{"this is bad", "this is bad!!!"},
	} {
		mild, strong := s.Score(pair[0]), s.Score(pair[1])
		if strong.Score >= mild.Score {
			t.Errorf("%q (%.3f) is not more negative than %q (%.3f)", pair[1], strong.Score, pair[0], mild.Score)
		}
	}
	if got := s.Score("ПОЧЕМУ НИКТО НЕ ОТВЕЧАЕТ"); !got.Negative || !hasEvidence(got, "shouting") {
		t.Errorf("shouting complaint: %+v", got)
	}
	if got := s.Score("СПАСИБО БОЛЬШОЕ!!!"); got.Negative {
		t.Errorf("shouted thanks flagged negative: %+v", got)
	}
	if got := s.Score("МТС и ВТБ"); got.Negative {
		t.Errorf("acronyms taken for shouting: %+v", got)
	}
}

func TestScorerEvidence(t *testing.T) {
	s := NewScorer()
	got := s.Score("Верните деньги, это просто ужасно!!!")
	for _, want := range []string{"complaint: верните деньги", "ужасно", "shouting: !!!"} {
		if !hasEvidence(got, want) {
			t.Errorf("evidence %q missing from %q", want, got.Evidence)
		}
	}
	if got := s.Score("не плохо"); !hasEvidence(got, "(negated)") {
		t.Errorf("negation not in evidence: %q", got.Evidence)
	}
	if got := s.Score("Где мой заказ?"); len(got.Evidence) != 0 {
		t.Errorf("neutral message has evidence %q", got.Evidence)
	}
}

func hasEvidence(s Sentiment, part string) bool {
	for _, e := range s.Evidence {
		if strings.Contains(e, part) {
			return true
		}
	}
	return false
}

func TestRequestsHuman(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
		ev   string
	}{
		{"оператор", true, "оператор"},
		{"Соедините с оператором!", true, "оператором"},
		{"хочу поговорить с живым человеком", true, "живым человеком"},
		{"позовите менеджера", true, "менеджера"},
		{"human please", true, "human"},
		{"I want to talk to an agent", true, "agent"},
		{"can I speak to a real person?", true, "real person"},
		{"где мой заказ", false, ""},
		{"what is your user agent", false, ""},
		{"human rights", false, ""},
		{"можно с человеком поговорить?", true, "с человеком"},
		{"дайте оператора!!!", true, "оператора"},
		{"переключите на специалиста", true, "переключите на"},
		{"connect me to a real person", true, "real person"},
		{"get me a manager", true, "manager"},
		{"customer service please", true, "customer service"},
		{"курьер был вежливый человек", false, ""},
		{"мой менеджер сказал оплатить", false, ""},
		{"who is the operator of this site?", false, ""},
		{"", false, ""},
		// a role word with a name or a qualifier is no call
		{"Agent Smith", false, ""},
		{"агент Смит", false, ""},
		{"человек-паук", false, ""},
		{"хороший человек", false, ""},
		{"оператор связи", false, ""},
		{"human being", false, ""},
		{"оператор есть?", true, "оператор"},
		{"operator pozhaluysta", true, "operator"},
		{"живой оператор пожалуйста", true, "оператор"},
		{"переведите на оператора, вопрос по заказу", true, "оператора"},
		{"переведи на английский слово кошка", false, ""},
		{"мне не нужен оператор, скажите часы работы", false, ""},
		{"thanks, I don't need an agent", false, ""},
		{"не надо оператора", false, ""},
		{"не хочу с ботом разговаривать", true, "не хочу с ботом"},
		{"I don't want to talk to a bot", true, "dont want to talk to a bot"},
		{"позовите сотрудника", true, "сотрудника"},
	} {
		got, ev := RequestsHuman(tc.text)
		if got != tc.want {
			t.Errorf("RequestsHuman(%q) = %v %q, want %v", tc.text, got, ev, tc.want)
			continue
		}
		if tc.want && !strings.Contains(strings.Join(ev, "|"), tc.ev) {
			t.Errorf("RequestsHuman(%q) evidence %q lacks %q", tc.text, ev, tc.ev)
		}
	}
}

// Messages in the shape customers write them: complaints must be flagged,
// ordinary questions and thanks must not.
func TestScorerCustomerMessages(t *testing.T) {
	s := NewScorer()
	neg := []string{
		"Вы что там все уснули? Третий час жду ответа",
		"Это уже ни в какие ворота",
		"Курьер нахамил и уехал",
		"Мне прислали бракованный товар",
		"Я в бешенстве",
		"Отвратительный сервис, больше никогда не закажу",
		"Верните мои деньги немедленно",
		"где мои деньги???",
		"Сколько можно ждать?!",
		"Вы меня обманули",
		"Заказ потеряли, никто ничего не знает",
		"Ужасное обслуживание",
		"товар пришел сломанный",
		"I'm really disappointed with your service",
		"This is the third time I'm writing to you!",
		"You guys are useless",
		"My package arrived damaged and nobody cares",
		"I want my money back NOW",
		"Worst experience ever",
		"I've been waiting for two weeks, this is unacceptable",
		"Your courier was rude",
		"WHERE IS MY ORDER",
		"Я буду писать в роспотребнадзор",
		"За что списали деньги??",
		"Опять задержка доставки, сколько можно",
	}
	neu := []string{
		"Здравствуйте! Подскажите, пожалуйста, сроки доставки в Самару",
		"Можно ли изменить адрес доставки?",
		"Какие способы оплаты у вас есть?",
		"Я хочу вернуть товар, он не подошел по размеру",
		"Заказ номер 12345, когда будет?",
		"Спасибо большое, всё получил!",
		"Отличный магазин, буду заказывать еще",
		"Hi, can you tell me when my order will arrive?",
		"How do I change my delivery address?",
		"Thanks, that helped a lot",
		"Do you have this in size M?",
		"I'd like to return these shoes, they don't fit",
		"Is it possible to pay with PayPal?",
		"оператор",
		"Не приходит код подтверждения, что делать?",
		"Не могу войти в личный кабинет, подскажите",
		"Добрый вечер, у меня проблема с оплатой",
		"Можно отменить заказ?",
	}
	for _, x := range neg {
		if g := s.Score(x); !g.Negative {
			t.Errorf("complaint not flagged: %q %.2f %v", x, g.Score, g.Evidence)
		}
	}
	for _, x := range neu {
		if g := s.Score(x); g.Negative {
			t.Errorf("calm message flagged: %q %.2f %v", x, g.Score, g.Evidence)
		}
	}
}
