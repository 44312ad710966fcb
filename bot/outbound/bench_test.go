package outbound_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/outbound"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

type nopSender struct{ n atomic.Int64 }

func (*nopSender) Channel() channel.Name { return channel.Telegram }
func (s *nopSender) Send(context.Context, channel.Outbound) error {
	s.n.Add(1)
	return nil
}

// BenchmarkTriggerAPI measures POST /api/v1/triggers/{flow} over loopback
// HTTP with a durable store (fsync per group commit): key check, contact
// lookup, busy and consent checks, the trigger and its idempotency key
// recorded in one write, 202. requests/s is what the API answers;
// starts/s counts the flows run and their messages delivered too (the
// benchmark waits for them).
func BenchmarkTriggerAPI(b *testing.B) {
	for _, clients := range []int{1, 32} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			p, err := flows.LoadDir(filepath.Join("testdata", "shop"))
			if err != nil {
				b.Fatal(err)
			}
			db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			tg := &nopSender{}
			rt := bot.New(bot.Config{Logger: zerolog.Nop(), TriggerIdle: time.Nanosecond}, db, p.NewEngine(flows.Options{}), tg)
			rt.Start(context.Background())
			defer rt.Shutdown(context.Background())
			srv := httptest.NewServer(outbound.New(db, rt, zerolog.Nop()).Handler())
			defer srv.Close()
			_, key, _ := db.CreateAPIKey(context.Background(), "bench", []string{store.ScopeTriggers})
			const contacts = 1000
			for i := 0; i < contacts; i++ {
				if _, _, err := db.ResolveContact(context.Background(), fmt.Sprint("telegram:", i), "", ""); err != nil {
					b.Fatal(err)
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c := 0; c < clients; c++ {
				n := b.N / clients
				if c < b.N%clients {
					n++
				}
				wg.Add(1)
				go func(n int) {
					defer wg.Done()
					for i := 0; i < n; i++ {
						k := next.Add(1)
						body := fmt.Sprintf(`{"contact":"telegram:%d","params":{"order":"%d"},"transactional":true}`, k%contacts, k)
						req, _ := http.NewRequest("POST", srv.URL+"/api/v1/triggers/shipped", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+key)
						req.Header.Set("Idempotency-Key", fmt.Sprint("k", k))
						res, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						res.Body.Close()
						if res.StatusCode != http.StatusAccepted {
							b.Errorf("status %d", res.StatusCode)
							return
						}
					}
				}(n)
			}
			wg.Wait()
			answered := time.Since(start)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := rt.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/answered.Seconds(), "requests/s")
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "starts/s")
		})
	}
}
