package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/servegc"
)

// chatClient is one web chat visitor speaking the widget's protocol over a
// minimal RFC 6455 client: the load generator shares the two cores with the
// server it measures, so it does no more than the protocol needs (masked
// frames out, whole frames in, nothing decoded but a turn's last reply).
type chatClient struct {
	conn net.Conn
	r    *bufio.Reader
	wmu  sync.Mutex
	wbuf []byte
	n    int
	done chan time.Time // receives when the reply that ends a turn arrives
}

// The demo answers "доставка" with the delivery text and then this menu
// prompt, which ends the turn.
const turnEnd = "Могу ещё чем-то помочь?"

var turnEndText = []byte(`"text":"` + turnEnd + `"`)

func dialChat(ctx context.Context, b testing.TB, addr string) *chatClient {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", addr, base64.StdEncoding.EncodeToString(key))
	c := &chatClient{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), done: make(chan time.Time, 16)}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("websocket handshake: %v %v", resp, err)
	}
	c.writeFrame(b, []byte(`{"type":"hello","batch":true}`))
	go c.readLoop()
	return c
}

// readLoop reads server frames (never masked) until the connection ends.
func (c *chatClient) readLoop() {
	var hdr [8]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(c.r, hdr[:2]); err != nil {
			return
		}
		op, n := hdr[0]&0x0f, uint64(hdr[1]&0x7f)
		switch n {
		case 126:
			if _, err := io.ReadFull(c.r, hdr[:2]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(hdr[:2]))
		case 127:
			if _, err := io.ReadFull(c.r, hdr[:8]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(hdr[:8])
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		data := buf[:n]
		if _, err := io.ReadFull(c.r, data); err != nil {
			return
		}
		switch op {
		case 0x8: // close
			return
		case 0x9: // ping
			c.write(0xA, data)
			continue
		case 0x1:
		default:
			continue
		}
		// A frame holds one object per line. The server writes a message's
		// fields in a fixed order, so the text that ends a turn is found
		// without decoding: the menu prompt, or a question answering the
		// greeting.
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			if !bytes.HasPrefix(line, []byte(`{"type":"message",`)) {
				continue
			}
			if bytes.Contains(line, turnEndText) || c.n == 1 && bytes.Contains(line, []byte(`?","`)) {
				c.done <- time.Now()
			}
		}
	}
}

// write sends one masked frame with opcode op.
func (c *chatClient) write(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := append(c.wbuf[:0], 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], mrand.Uint32())
	b = append(b, mask[:]...)
	for i, p := range payload {
		b = append(b, p^mask[i&3])
	}
	c.wbuf = b
	_, err := c.conn.Write(b)
	return err
}

func (c *chatClient) writeFrame(b testing.TB, payload []byte) {
	if err := c.write(0x1, payload); err != nil {
		b.Error(err)
	}
}

func (c *chatClient) send(_ context.Context, b testing.TB, text string) {
	c.n++
	c.writeFrame(b, fmt.Appendf(nil, `{"type":"message","id":"m%d","text":%q}`, c.n, text))
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
	// Every visitor of the benchmark comes from 127.0.0.1.
	cfg.Web.NewVisitorRate = -1
	cfg.Web.MaxConnsPerAddress = 1000
	servegc.ForBenchmark(b)
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
	// A warm-up round, so the run measures a server in its steady state,
	// not a new database file growing its first pages.
	var warm sync.WaitGroup
	for _, c := range clients {
		warm.Go(func() {
			for range 16 {
				c.send(ctx, b, "доставка")
				<-c.done
			}
		})
	}
	warm.Wait()
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
