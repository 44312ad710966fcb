package analytics

import (
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// missDay writes, for each contact, its turns: a message, then what the
// engine and the runtime recorded with it.
type missDay struct {
	t0     time.Time
	n      int
	events []store.Event
	msgs   []store.Message
}

type ev struct {
	typ  string
	data map[string]string
}

// turn records a customer message (text, or a button press when payload
// is set) and the turn's events, a minute after the previous turn.
func (d *missDay) turn(contact, text, payload string, evs ...ev) {
	d.n++
	at := d.t0.Add(time.Duration(d.n) * time.Minute)
	// The channel dates the message a little before the server takes it.
	d.msgs = append(d.msgs, store.Message{ContactID: contact, Dir: "in", Sender: "customer", Text: text, Payload: payload, At: at.Add(-300 * time.Millisecond)})
	d.events = append(d.events, store.Event{At: at, ContactID: contact, Type: "message_in"})
	for _, e := range evs {
		d.events = append(d.events, store.Event{At: at, ContactID: contact, Type: e.typ, Data: e.data})
	}
}

func (d *missDay) Events(from, to time.Time, fn func(store.Event) error) error {
	for _, e := range d.events {
		if (from.IsZero() || !e.At.Before(from)) && (to.IsZero() || e.At.Before(to)) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *missDay) History(contact string, _ uint64, _ int) ([]store.Message, error) {
	var out []store.Message
	for _, m := range d.msgs {
		if m.ContactID == contact {
			out = append(out, m)
		}
	}
	return out, nil
}

func understood(kv ...string) ev {
	d := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		d[kv[i]] = kv[i+1]
	}
	return ev{"understood", d}
}

var (
	fallback = ev{"fallback", nil}
	handoff  = ev{"handoff_requested", map[string]string{"reason": "requested"}}
	dymNo    = ev{"did_you_mean", map[string]string{"faq": "payment", "answer": "no"}}
	dymYes   = ev{"did_you_mean", map[string]string{"faq": "delivery", "answer": "yes"}}
)

func scriptedMisses() *missDay {
	d := &missDay{t0: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	// a: answered, then corrected with a message the bot did not get.
	d.turn("a", "где мой заказ?", "", understood("kind", "faq", "faq", "delivery", "intent", "delivery", "score", "0.81"))
	d.turn("a", "нет, я про возврат денег", "", understood("kind", "none", "intent", "returns", "score", "0.31"), fallback)
	// b: "did you mean payment?" - no.
	d.turn("b", "как оплатить частями", "", understood("kind", "faq", "faq", "payment", "intent", "payment", "score", "0.55"))
	d.turn("b", "Нет", "no", dymNo, fallback)
	// c: the same question, out of scope.
	d.turn("c", "Как оплатить частями?!", "", understood("kind", "none", "faq", "payment", "intent", "payment", "score", "0.12", "oos", "1"))
	// d: an order number is an answer; an answer then a request for a person.
	d.turn("d", "1234567", "", understood("kind", "answer", "oos", "1"))
	d.turn("d", "сколько доставка", "", understood("kind", "faq", "faq", "delivery", "intent", "delivery", "score", "0.90"))
	d.turn("d", "позовите оператора", "", understood("kind", "none", "oos", "1"), handoff)
	d.turn("d", "заказ 555111 не пришёл", "", understood("kind", "none", "score", "0.20"))
	// e: the same complaint with another number; a confirmed guess is no miss.
	d.turn("e", "Заказ 999888 не пришел", "", understood("kind", "none", "score", "0.22"))
	d.turn("e", "сколько стоит доставка", "", understood("kind", "faq", "faq", "delivery", "intent", "delivery", "score", "0.60"))
	d.turn("e", "Да", "yes", dymYes)
	// f: a button press, then typed text that was understood: no miss.
	d.turn("f", "Доставка", "delivery")
	d.turn("f", "а в Тверь?", "", understood("kind", "faq", "faq", "delivery", "intent", "delivery", "score", "0.75"))
	return d
}

func TestMissesScriptedDay(t *testing.T) {
	d := scriptedMisses()
	rep, err := ComputeMisses(d, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(n int) time.Time { return d.t0.Add(time.Duration(n) * time.Minute) }
	want := []MissGroup{
		{Example: "Заказ 999888 не пришел", Texts: []string{"Заказ 999888 не пришел", "заказ 555111 не пришёл"}, Count: 2, Last: at(10),
			Reasons: map[string]int{MissNotUnderstood: 2}, Contacts: []string{"d", "e"}},
		{Example: "Как оплатить частями?!", Texts: []string{"Как оплатить частями?!", "как оплатить частями"}, Count: 2, Last: at(5),
			Reasons: map[string]int{MissDidYouMeanNo: 1, MissOutOfScope: 1}, TakenFor: map[string]int{"payment": 2}, Contacts: []string{"b", "c"}},
		{Example: "сколько доставка", Texts: []string{"сколько доставка"}, Count: 1, Last: at(7),
			Reasons: map[string]int{MissEscalated: 1}, TakenFor: map[string]int{"delivery": 1}, Contacts: []string{"d"}},
		{Example: "нет, я про возврат денег", Texts: []string{"нет, я про возврат денег"}, Count: 1, Last: at(2),
			Reasons: map[string]int{MissNotUnderstood: 1}, TakenFor: map[string]int{"returns": 1}, Contacts: []string{"a"}},
		{Example: "где мой заказ?", Texts: []string{"где мой заказ?"}, Count: 1, Last: at(1),
			Reasons: map[string]int{MissCorrected: 1}, TakenFor: map[string]int{"delivery": 1}, Contacts: []string{"a"}},
	}
	if rep.Misses != 7 {
		t.Errorf("misses = %d, want 7", rep.Misses)
	}
	for i := range rep.Groups {
		rep.Groups[i].tokens = nil
	}
	if !reflect.DeepEqual(rep.Groups, want) {
		t.Errorf("groups:\n got %+v\nwant %+v", rep.Groups, want)
	}
}

// The groups do not depend on the order contacts appear in.
func TestMissesGroupingIsDeterministic(t *testing.T) {
	d := scriptedMisses()
	a := Misses(d.events, d.msgs)
	// Reverse the contacts' order, keeping each contact's turns in order.
	var rev []store.Event
	for _, c := range []string{"f", "e", "d", "c", "b", "a"} {
		for _, e := range d.events {
			if e.ContactID == c {
				rev = append(rev, e)
			}
		}
	}
	b := Misses(rev, d.msgs)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("order changed the groups:\n%+v\n%+v", a, b)
	}
}

func TestMissesPeriod(t *testing.T) {
	d := scriptedMisses()
	// From the 6th minute: b's and c's turns and a's are outside.
	rep, err := ComputeMisses(d, d.t0.Add(6*time.Minute), d.t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Misses != 3 || len(rep.Groups) != 2 {
		t.Errorf("from minute 6: %d misses in %d groups, want 3 in 2: %+v", rep.Misses, len(rep.Groups), rep.Groups)
	}
	if _, err := ComputeMisses(d, d.t0.Add(time.Hour), d.t0); err == nil {
		t.Error("an empty period: no error")
	}
}

func TestMissTokens(t *testing.T) {
	if got, want := missTokens("Заказ №123456 не пришёл, заказ!"), []string{"#", "заказ", "не", "пришел"}; !reflect.DeepEqual(got, want) {
		t.Errorf("missTokens = %q, want %q", got, want)
	}
}
