package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-chat/parley/flows"

	"github.com/parley-chat/parley/internal/servegc"
)

// benchScript is a realistic mix on the demo flows: greeting, button
// presses, typed questions, a misunderstanding, a validated order number
// with its http lookup (answered in memory) and a restart.
var benchScript = []flows.Input{
	{Text: "привет"}, {Text: "Доставка", Payload: "delivery"}, {Text: "3"}, {Text: "хочу вернуть товар"},
	{Text: "абракадабра"}, {Text: "когда работаете?"}, {Text: "Где мой заказ?", Payload: "order_status"},
	{Text: "12"}, {Text: "1234567"}, {Text: "/start"},
}

// BenchmarkEngineTurn measures one customer message through the engine on
// the demo flows (per core: run with -cpu 1 for the per-core figure), with
// the outputs written into a reused buffer as the runtime's workers do.
func BenchmarkEngineTurn(b *testing.B) { benchEngineTurns(b, new(flows.Buffer)) }

// BenchmarkEngineTurnFresh is the same with a new buffer per turn (Step).
func BenchmarkEngineTurnFresh(b *testing.B) { benchEngineTurns(b, nil) }

func benchEngineTurns(b *testing.B, buf *flows.Buffer) {
	servegc.ForBenchmark(b)
	p := loadDemo(b)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	var st flows.State
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	i := 0
	for b.Loop() {
		in := benchScript[i%len(benchScript)]
		if i%len(benchScript) == 0 {
			st = flows.State{}
		}
		in.Now = now
		in.Contact = flows.Contact{ID: "c1", Name: "Анна"}
		var err error
		st, _, err = e.StepInto(ctx, st, in, buf)
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
}

// BenchmarkEngineTurnButtons is the engine's own cost: button presses and
// numbers only, so no classifier or sentiment runs.
func BenchmarkEngineTurnButtons(b *testing.B) {
	script := []flows.Input{
		{Text: "Доставка", Payload: "delivery"}, {Text: "3"}, {Text: "4"},
		{Text: "Где мой заказ?", Payload: "order_status"},
	}
	servegc.ForBenchmark(b)
	p := loadDemo(b)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	var buf flows.Buffer
	st, _, _ := e.Step(ctx, flows.State{}, flows.Input{Text: "/start"})
	start := st
	b.ReportAllocs()
	t0 := time.Now()
	i := 0
	for b.Loop() {
		if i%len(script) == 0 {
			st = start
		}
		st, _, _ = e.StepInto(ctx, st, script[i%len(script)], &buf)
		i++
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "turns/s")
}

// BenchmarkEngineTurnParallel measures throughput with every core busy.
func BenchmarkEngineTurnParallel(b *testing.B) {
	servegc.ForBenchmark(b)
	p := loadDemo(b)
	e := p.NewEngine(flows.Options{HTTP: orders{}})
	ctx := context.Background()
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var st flows.State
		var buf flows.Buffer
		i := 0
		for pb.Next() {
			if i%len(benchScript) == 0 {
				st = flows.State{}
			}
			st, _, _ = e.StepInto(ctx, st, benchScript[i%len(benchScript)], &buf)
			i++
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
}

// BenchmarkLoadDemo measures loading and compiling the demo project.
func BenchmarkLoadDemo(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadDemo(b)
	}
}
