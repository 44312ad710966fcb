package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chatClient is one web chat visitor speaking the widget's protocol.
type chatClient struct {
	ws   *websocket.Conn
	n    int
	done chan time.Time // receives when the reply that ends a turn arrives
}

// The demo answers "доставка" with the delivery text and then this menu
// prompt, which ends the turn.
const turnEnd = "Могу ещё чем-то помочь?"

func dialChat(ctx context.Context, b testing.TB, addr string) *chatClient {
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &chatClient{ws: ws, done: make(chan time.Time, 16)}
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"hello"}`)); err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			// Only message frames that may end a turn are decoded: the
			// clients share the machine with the server being measured.
			if !bytes.Contains(data, []byte(`"type":"message"`)) || !bytes.Contains(data, []byte(`?"`)) {
				continue
			}
			var f struct{ Type, Text string }
			if json.Unmarshal(data, &f) == nil && f.Type == "message" && (f.Text == turnEnd || len(f.Text) > 0 && f.Text[len(f.Text)-1] == '?' && c.n == 1) {
				c.done <- time.Now()
			}
		}
	}()
	return c
}

func (c *chatClient) send(ctx context.Context, b testing.TB, text string) {
	c.n++
	frame := fmt.Sprintf(`{"type":"message","id":"m%d","text":%q}`, c.n, text)
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		b.Error(err)
	}
}

// startBenchServer runs serve on the demo with a durable database and no
// per-visitor rate limit (the benchmark's visitors type faster than people).
func startBenchServer(b *testing.B) *server {
	cfg := defaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DB = b.TempDir() + "/bench.db"
	cfg.Web.RatePerSecond = 1e6
	cfg.FloodRate = -1
	cfg.LogLevel = "error"
	s, err := newServer(context.Background(), cfg, newLogger(discard{}, "error", "json"), IO{Stdout: discard{}, Stderr: discard{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.shutdown(10 * time.Second) })
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func connectVisitors(b *testing.B, s *server, n int) []*chatClient {
	ctx := context.Background()
	clients := make([]*chatClient, n)
	for i := range clients {
		clients[i] = dialChat(ctx, b, s.addr)
		clients[i].send(ctx, b, "привет") // the greeting ends with "Чем помочь?"
	}
	for _, c := range clients {
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			b.Fatal("no greeting")
		}
	}
	return clients
}

// BenchmarkEndToEndWebChat: visitors on WebSockets each send a message and
// wait for the whole answer; every message goes through the durable inbox,
// the demo flow, a committed turn and the outbox back to the browser.
func BenchmarkEndToEndWebChat(b *testing.B) {
	s := startBenchServer(b)
	const visitors = 64
	clients := connectVisitors(b, s, visitors)
	ctx := context.Background()
	b.ResetTimer()
	start, cpu0, st0 := time.Now(), cpuTime(), s.db.Stats()
	var wg sync.WaitGroup
	for i, c := range clients {
		n := b.N / visitors
		if i < b.N%visitors {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < n; k++ {
				c.send(ctx, b, "доставка")
				<-c.done
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	// CPU per message (server and the benchmark's own clients, user+system)
	// depends less on what else the machine runs than msgs/s does.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	st := s.db.Stats()
	b.ReportMetric(float64(st.Writes-st0.Writes)/float64(b.N), "writes/msg")
	b.ReportMetric(float64(st.Batches-st0.Batches)/float64(b.N), "fsyncs/msg")
	b.ReportMetric(float64(st.PageWrites-st0.PageWrites)/float64(b.N), "pages/msg")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLatencyAtFixedRate offers messages at a fixed rate spread over
// many visitors and reports the p50 and p99 of the time from sending a
// message to receiving the end of its answer.
func BenchmarkLatencyAtFixedRate(b *testing.B) {
	for _, rate := range []int{500, 2000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			s := startBenchServer(b)
			visitors := rate / 4 // each visitor writes about every 2 s... at most 4 in flight per second
			if visitors > 500 {
				visitors = 500
			}
			clients := connectVisitors(b, s, visitors)
			ctx := context.Background()
			total := max(b.N, rate) // at least one second of traffic
			lat := make([]time.Duration, 0, total)
			var mu sync.Mutex
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			busy := make([]sync.Mutex, len(clients))
			b.ResetTimer()
			for i := 0; i < total; i++ {
				<-tick.C
				k := i % len(clients)
				wg.Add(1)
				go func() {
					defer wg.Done()
					busy[k].Lock() // one message in flight per visitor, as in a chat
					defer busy[k].Unlock()
					t0 := time.Now()
					clients[k].send(ctx, b, "доставка")
					t1 := <-clients[k].done
					mu.Lock()
					lat = append(lat, t1.Sub(t0))
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
