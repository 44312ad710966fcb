package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// benchTurn is store's BenchmarkCommitTurn turn: a ~300-byte session, the
// inbound and the outbound message, one outbox entry and one event.
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

// roundTrips counts the statements and batches sent: each is one round
// trip to the server.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// BenchmarkCommitTurn is store.BenchmarkCommitTurn on PostgreSQL: durable
// turns (synchronous_commit on) with 1 and 64 concurrent conversations,
// each goroutine its own contact. cpu-µs/turn is this process's (the
// client's); the server's CPU is not in it.
func BenchmarkCommitTurn(b *testing.B) {
	for _, writers := range []int{1, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			rt := &roundTrips{}
			db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Tracer: rt, MaxConns: 64})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			contacts := make([]string, writers)
			for w := range contacts {
				c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", w), "", "")
				if err != nil {
					b.Fatal(err)
				}
				contacts[w] = c.ID
			}
			// One turn per writer first, so the pool's connections are
			// open before the clock starts.
			var warm sync.WaitGroup
			for w := range writers {
				warm.Go(func() {
					if _, err := db.Commit(ctx, benchTurn(contacts[w], 0)); err != nil {
						b.Error(err)
					}
				})
			}
			warm.Wait()
			var next atomic.Int64
			rt0 := rt.n.Load()
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
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/turn")
			b.ReportMetric(float64(rt.n.Load()-rt0)/float64(b.N), "roundtrips/turn")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMessagePath is store.BenchmarkMessagePath on PostgreSQL: per
// inbound message an Enqueue (durable before the channel is acknowledged)
// and the turn that consumes it, 64 conversations at once.
func BenchmarkMessagePath(b *testing.B) {
	const writers = 64
	rt := &roundTrips{}
	db, err := postgres.Open(context.Background(), pgtest.Schema(b), postgres.Options{Tracer: rt, MaxConns: writers})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	contacts := make([]string, writers)
	var warm sync.WaitGroup
	for w := range contacts {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", w), "", "")
		if err != nil {
			b.Fatal(err)
		}
		contacts[w] = c.ID
		warm.Go(func() { _, _ = db.Commit(ctx, benchTurn(c.ID, 0)) })
	}
	warm.Wait()
	var next atomic.Int64
	rt0 := rt.n.Load()
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
	b.ReportMetric(float64(rt.n.Load()-rt0)/float64(b.N), "roundtrips/message")
}
