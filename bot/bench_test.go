package bot

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/demo"
	"github.com/parley-chat/parley/store"

	"github.com/parley-chat/parley/internal/servegc"
)

// signalSender tells each conversation when its turn's last reply went out.
type signalSender struct {
	mu    sync.Mutex
	waits map[string]chan struct{}
}

func (s *signalSender) Channel() channel.Name { return channel.Web }

func (s *signalSender) Send(_ context.Context, out channel.Outbound) error {
	if out.Text != "say something" { // the last reply of every echo turn
		return nil
	}
	s.mu.Lock()
	ch := s.waits[out.To.ID]
	s.mu.Unlock()
	ch <- struct{}{}
	return nil
}

// BenchmarkDurableTurns measures whole durable turns: a customer message
// run through the flow engine and committed with its event key (one
// fsync, shared by the turns of a group commit), the replies delivered and
// removed from the outbox — with 1 and with 64 conversations at once, each
// waiting for its answer before it writes again, as people do.
func BenchmarkDurableTurns(b *testing.B) {
	for _, conversations := range []int{1, 64} {
		b.Run(fmt.Sprintf("conversations=%d", conversations), func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			sender := &signalSender{waits: map[string]chan struct{}{}}
			rt := New(Config{Logger: quietLogger(), FloodRate: -1}, db, echoEngine(b), sender)
			rt.Start(context.Background())
			defer rt.Shutdown(context.Background())
			for c := 0; c < conversations; c++ {
				sender.waits[fmt.Sprint("v", c)] = make(chan struct{}, 4)
			}
			ctx := context.Background()
			var seq sync.Mutex
			event := 0
			send := func(id, text string) {
				seq.Lock()
				event++
				e := event
				seq.Unlock()
				if err := rt.HandleInbound(ctx, channel.Inbound{From: channel.Address{Channel: channel.Web, ID: id}, EventID: fmt.Sprint(e), Text: text}); err != nil {
					b.Error(err)
				}
				<-sender.waits[id]
			}
			for c := 0; c < conversations; c++ {
				send(fmt.Sprint("v", c), "hi") // start every conversation outside the timing
			}
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := 0; c < conversations; c++ {
				n := b.N / conversations
				if c < b.N%conversations {
					n++
				}
				wg.Add(1)
				go func(id string, n int) {
					defer wg.Done()
					for i := 0; i < n; i++ {
						send(id, "message")
					}
				}(fmt.Sprint("v", c), n)
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
		})
	}
}

// demoOrders answers the demo's order lookups in memory.
type demoOrders struct{}

func (demoOrders) Do(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"status":"in_transit","eta":"7 января"}`))}, nil
}

type nopSender struct{}

func (nopSender) Channel() channel.Name                        { return channel.Web }
func (nopSender) Send(context.Context, channel.Outbound) error { return nil }

// demoScript is the engine benchmark's mix (flows/bench_test.go) as
// customer messages: greeting, buttons, typed questions through the NLU, a
// misunderstanding, an order number looked up by the http node, a restart.
var demoScript = []channel.Inbound{
	{Text: "привет"}, {Text: "Доставка", Payload: "delivery"}, {Text: "3"}, {Text: "хочу вернуть товар"},
	{Text: "абракадабра"}, {Text: "когда работаете?"}, {Text: "Где мой заказ?", Payload: "order_status"},
	{Text: "12"}, {Text: "1234567"}, {Text: "/start"},
}

// demoBench loads the demo project and, unless GOGC is set, runs the
// benchmark with the GC setting `parley serve` uses (cmd/serve.go).
func demoBench(b *testing.B) *flows.Project {
	p, err := flows.LoadFS(demo.FS())
	if err != nil {
		b.Fatal(err)
	}
	servegc.ForBenchmark(b)
	return p
}

// BenchmarkDemoTurns is engine plus store: durable turns on the demo flows
// through the runtime (HandleInbound returns once the turn is committed
// with fsync), with 1 and with 64 conversations at once. Replies go to a
// sender that drops them; their outbox entries are written and removed.
func BenchmarkDemoTurns(b *testing.B) {
	p := demoBench(b)
	for _, conversations := range []int{1, 64} {
		b.Run(fmt.Sprintf("conversations=%d", conversations), func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var turns atomic.Int64
			rt := New(Config{Logger: quietLogger(), FloodRate: -1,
				Observe: func(string, []flows.Output) { turns.Add(1) }},
				db, p.NewEngine(flows.Options{HTTP: demoOrders{}}), nopSender{})
			rt.Start(context.Background())
			defer rt.Shutdown(context.Background())
			ctx := context.Background()
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := range conversations {
				wg.Go(func() {
					from := channel.Address{Channel: channel.Web, ID: fmt.Sprint("v", c)}
					for i := 0; next.Add(1) <= int64(b.N); i++ {
						in := demoScript[i%len(demoScript)]
						in.From, in.EventID = from, fmt.Sprint(i)
						if err := rt.HandleInbound(ctx, in); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := rt.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := turns.Load(); got != int64(b.N) {
				b.Fatalf("%d turns committed, want %d", got, b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
		})
	}
}

// BenchmarkEngineStore is a durable turn without the channels around it:
// the session read from the store, one engine step on the demo flows, and
// the turn (session, the message and the replies, events, outbox entries)
// committed with fsync — with 1 and with 64 conversations at once, each
// writing again once its turn is durable.
func BenchmarkEngineStore(b *testing.B) {
	eng := demoBench(b).NewEngine(flows.Options{HTTP: demoOrders{}})
	for _, conversations := range []int{1, 64} {
		b.Run(fmt.Sprintf("conversations=%d", conversations), func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			var next atomic.Int64
			b.ResetTimer()
			start, st0 := time.Now(), db.Stats()
			var wg sync.WaitGroup
			for c := range conversations {
				wg.Go(func() {
					addr := fmt.Sprint("web:v", c)
					ct, _, err := db.ResolveContact(ctx, addr, "", "")
					if err != nil {
						b.Error(err)
						return
					}
					var buf flows.Buffer // a worker's reused output buffer, as in the runtime
					for i := 0; next.Add(1) <= int64(b.N); i++ {
						if err := engineStoreTurn(ctx, db, eng, &buf, ct, addr, demoScript[i%len(demoScript)]); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "turns/s")
			if st := db.Stats(); st.Batches > st0.Batches {
				b.ReportMetric(float64(st.Writes-st0.Writes)/float64(st.Batches-st0.Batches), "turns/fsync")
			}
		})
	}
}

func engineStoreTurn(ctx context.Context, db *store.DB, eng *flows.Engine, buf *flows.Buffer, c store.Contact, addr string, in channel.Inbound) error {
	raw, err := db.Session(c.ID)
	if err != nil {
		return err
	}
	var st flows.State
	if raw != nil {
		if st, err = flows.UnmarshalState(raw); err != nil {
			return err
		}
	}
	now := time.Now()
	next, outs, err := eng.StepInto(ctx, st, flows.Input{Text: in.Text, Payload: in.Payload, Channel: "web", Now: now,
		Contact: flows.Contact{ID: c.ID, Name: c.Name, Lang: c.Lang, Fields: c.Fields}}, buf)
	if err != nil {
		return err
	}
	session, err := flows.MarshalState(next)
	if err != nil {
		return err
	}
	t := store.Turn{ContactID: c.ID, Session: session,
		Messages: []store.Message{{Dir: store.DirIn, Channel: "web", Address: addr, Text: in.Text, Payload: in.Payload, Sender: "customer", At: now}},
		Events:   []store.Event{{Type: "message_in", Data: map[string]string{"channel": "web"}}}}
	for _, o := range outs {
		switch {
		case o.Kind == flows.Say:
			var btns []store.Button
			for _, b := range o.Buttons {
				btns = append(btns, store.Button{Text: b.Text, Value: b.Value})
			}
			t.Messages = append(t.Messages, store.Message{Dir: store.DirOut, Channel: "web", Address: addr, Text: o.Text, Buttons: btns, Sender: "bot", At: now})
			t.Outbox = append(t.Outbox, store.OutboxEntry{Address: addr, Data: []byte(o.Text)})
		case o.Kind == flows.Event && o.Event != nil:
			t.Events = append(t.Events, store.Event{Type: o.Event.Name, Flow: o.Event.Flow, Node: o.Event.Node, Data: o.Event.Data})
		}
	}
	_, err = db.Commit(ctx, t)
	return err
}
