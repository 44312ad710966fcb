package store_test

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// benchTurn is a realistic turn: a ~300-byte session, the inbound and the
// outbound message, one outbox entry and one event.
func benchTurn(cid string, i int) store.Turn {
	session := bytes.Repeat([]byte("s"), 300)
	text := fmt.Sprintf("Где мой заказ 12345%d?", i)
	return store.Turn{
		ContactID: cid,
		Session:   session,
		Messages: []store.Message{
			{Dir: store.DirIn, Channel: "telegram", Address: "telegram:100", Text: text, Sender: "customer"},
			{Dir: store.DirOut, Channel: "telegram", Address: "telegram:100", Text: "Ваш заказ в пути, будет завтра.",
				Sender: "bot", Buttons: []store.Button{{Text: "Меню", Value: "menu"}, {Text: "Оператор", Value: "human"}}},
		},
		Outbox: []store.OutboxEntry{{Address: "telegram:100", Data: []byte(`{"text":"Ваш заказ в пути, будет завтра.","buttons":[["Меню","menu"],["Оператор","human"]]}`)}},
		Events: []store.Event{{Type: "node", Flow: "delivery", Node: "lookup", Data: map[string]string{"intent": "order_status"}}},
	}
}

// BenchmarkCommitTurn measures durable turns (fsync on) with 1 and 64
// concurrent conversations, each goroutine its own contact. The nosync
// variant shows the CPU ceiling without the disk.
func BenchmarkCommitTurn(b *testing.B) {
	for _, c := range []struct {
		writers int
		noSync  bool
	}{{1, false}, {64, false}, {64, true}} {
		writers := c.writers
		name := fmt.Sprintf("writers=%d", writers)
		if c.noSync {
			name += "/nosync"
		}
		b.Run(name, func(b *testing.B) {
			db, err := store.Open(b.TempDir()+"/bench.db", store.Options{NoSync: c.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			contacts := make([]string, writers)
			for w := range contacts {
				c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", w), "", "")
				if err != nil {
					b.Fatal(err)
				}
				contacts[w] = c.ID
			}
			var next atomic.Int64
			before := db.Stats()
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if _, err := db.Commit(ctx, benchTurn(contacts[w], int(i))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "turns/s")
			// CPU per turn (user+system, all goroutines) does not depend on
			// what else the machine is running, unlike turns/s.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/turn")
			st := db.Stats()
			if n := st.Batches - before.Batches; n > 0 {
				b.ReportMetric(float64(st.Writes-before.Writes)/float64(n), "turns/fsync")
			}
			b.ReportMetric(float64(st.PageWrites-before.PageWrites)/float64(b.N), "pages/turn")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMessagePath is the runtime's full durable path per inbound
// message: Enqueue (durable before the channel is acknowledged) and then
// the turn that consumes the inbox entry: two grouped commits per message.
func BenchmarkMessagePath(b *testing.B) {
	const writers = 64
	db, err := store.Open(b.TempDir()+"/bench.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	contacts := make([]string, writers)
	for w := range contacts {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", w), "", "")
		if err != nil {
			b.Fatal(err)
		}
		contacts[w] = c.ID
	}
	var next atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				seq, _, err := db.Enqueue(ctx, contacts[w], fmt.Sprintf("tg:%d", i), []byte(`{"text":"Где мой заказ?","from":"telegram:100"}`))
				if err != nil {
					b.Error(err)
					return
				}
				turn := benchTurn(contacts[w], int(i))
				turn.InboxSeq = seq
				if _, err := db.Commit(ctx, turn); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/message")
}
