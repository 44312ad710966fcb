package nlu_test

import (
	"fmt"

	"github.com/parley-chat/parley/flows/nlu"
)

func Example() {
	clf, err := nlu.Train([]nlu.Example{
		{Text: "где мой заказ", Label: "order_status"},
		{Text: "статус заказа", Label: "order_status"},
		{Text: "where is my order", Label: "order_status"},
		{Text: "сколько стоит доставка", Label: "delivery"},
		{Text: "сроки доставки", Label: "delivery"},
		{Text: "how much is delivery", Label: "delivery"},
	}, nlu.Options{})
	if err != nil {
		panic(err)
	}
	p := clf.Classify("Где мой заказ??")
	fmt.Println(p.Label, p.OOS)
	fmt.Println(clf.Classify("какая погода на Марсе").OOS)

	s := nlu.NewScorer().Score("Верните деньги, это ужасно!!!")
	fmt.Println(s.Negative, s.Evidence)

	asks, ev := nlu.RequestsHuman("позовите оператора")
	fmt.Println(asks, ev)
	// Output:
	// order_status false
	// true
	// true [complaint: верните деньги ужасно shouting: !!!]
	// true [оператора]
}

// ExamplePrepare shows what an engine does per message: prepare once, then
// ask the classifier, the scorer and the person-request check, reusing one
// Prepared (and its buffers) for the next message.
func ExamplePrepare() {
	clf, err := nlu.Train([]nlu.Example{
		{Text: "где мой заказ", Label: "order_status"},
		{Text: "статус заказа", Label: "order_status"},
		{Text: "where is my order", Label: "order_status"},
		{Text: "сколько стоит доставка", Label: "delivery"},
		{Text: "сроки доставки", Label: "delivery"},
		{Text: "how much is delivery", Label: "delivery"},
	}, nlu.Options{})
	if err != nil {
		panic(err)
	}
	scorer := nlu.NewScorer()
	p := nlu.Prepare("")
	for _, text := range []string{"Где мой заказ, вы издеваетесь? Позовите оператора", "Сколько стоит доставка?"} {
		p.Reset(text)
		pred := clf.ClassifyPrepared(p)
		s := scorer.ScorePrepared(p)
		asks, _ := nlu.RequestsHumanPrepared(p)
		fmt.Printf("%q: %s, negative %v, asks for a person %v\n", p.Norm, pred.Label, s.Negative, asks)
	}
	// Output:
	// "где мой заказ вы издеваетесь позовите оператора": order_status, negative true, asks for a person true
	// "сколько стоит доставка": delivery, negative false, asks for a person false
}

// ExampleClassifier_Explain shows why a message matched: a customer wrote
// Russian in Latin letters, and the transliterated stem carries the answer.
func ExampleClassifier_Explain() {
	clf, err := nlu.Train([]nlu.Example{
		{Text: "где мой заказ", Label: "order_status"},
		{Text: "статус заказа", Label: "order_status"},
		{Text: "сколько стоит доставка", Label: "delivery"},
		{Text: "сроки доставки", Label: "delivery"},
	}, nlu.Options{})
	if err != nil {
		panic(err)
	}
	p := nlu.Prepare("gde moi zakaz?")
	fmt.Println(nlu.DetectLanguage(p.Text), clf.ClassifyPrepared(p).Label)
	for _, why := range clf.Explain(p, "order_status", 3) {
		fmt.Println(why)
	}
	// Output:
	// ru order_status
	// concept ~order +0.33
	// заказ (from 'zakaz') +0.33
	// chars 'з' +0.12
}
