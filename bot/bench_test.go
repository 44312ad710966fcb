package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
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
// recorded in the inbox (fsync), run through the flow engine, the turn
// committed (fsync), the replies delivered and removed from the outbox —
// with 1 and with 64 conversations at once, each waiting for its answer
// before it writes again, as people do.
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
