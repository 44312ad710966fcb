package flows_test

import (
	"encoding/json"
	"testing"

	"github.com/parley-chat/parley/flows"
)

// benchState is a demo session after an order lookup: the main menu's six
// buttons, four variables, waiting for an answer (535 bytes of JSON).
var benchState = flows.State{
	Flow: "main", Node: "menu", Version: "f5e707968221b6ca", Waiting: true, Lang: "ru", Turns: 4,
	Vars: map[string]any{"order": "1234567", "order_eta": "7 января", "order_found": true, "order_status": "in_transit"},
	Buttons: []flows.Button{
		{Text: "Где мой заказ?", Value: "order_status"}, {Text: "Доставка", Value: "delivery"},
		{Text: "Оплата", Value: "payment"}, {Text: "Возврат", Value: "returns"},
		{Text: "Позвать человека", Value: "human"}, {Text: "Связать с другим чатом", Value: "link_chat"},
	},
}

// BenchmarkStateCodec compares the session codec with encoding/json on a
// demo session.
func BenchmarkStateCodec(b *testing.B) {
	raw, err := json.Marshal(benchState)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(benchState); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/flows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := flows.MarshalState(benchState); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s flows.State
			if err := json.Unmarshal(raw, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/flows", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := flows.UnmarshalState(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
