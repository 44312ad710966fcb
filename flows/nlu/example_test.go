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
