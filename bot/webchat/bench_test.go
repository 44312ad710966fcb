package webchat

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

// idleConns is how many connections BenchmarkIdleConnections holds open.
const idleConns = 1000

// rawHello is a WebSocket upgrade request followed by the client's hello
// frame, written in one go by a bare TCP client. The bare client keeps no
// buffers and no goroutine, so the memory measured is the server's (plus a
// few hundred bytes of the client socket, which makes the figure a slight
// over-estimate).
func rawHello(host string) []byte {
	payload := `{"type":"hello"}`
	req := "GET /ws HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// FIN + text; masked, with a zero key so the payload goes as is.
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	return append([]byte(req), frame...)
}

// BenchmarkIdleConnections reports the memory one idle, registered widget
// connection costs the server: heap and goroutine stacks after GC, divided by
// the number of connections. Target: < 30 KB.
func BenchmarkIdleConnections(b *testing.B) {
	// Every connection is a new visitor from 127.0.0.1: the flood limits
	// would refuse all but the first few.
	a, err := New(Config{Secret: testSecret, Logger: zerolog.Nop(), NewVisitorRate: -1, MaxConnsPerAddress: idleConns}, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(channel.HandlerFunc(func(context.Context, channel.Inbound) error { return nil })))
	defer srv.Close()
	defer a.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	hello := rawHello(host)

	var perConn float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, idleConns)
		for range idleConns {
			c, err := net.Dial("tcp", host)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(hello); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		waitConns(b, a, idleConns)
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := int64(after.HeapAlloc+after.StackInuse) - int64(before.HeapAlloc+before.StackInuse)
		perConn = float64(used) / idleConns
		for _, c := range conns {
			c.Close()
		}
		waitConns(b, a, 0)
	}
	b.ReportMetric(perConn, "bytes/conn")
	b.ReportMetric(0, "ns/op") // the time of an iteration means nothing here
}

func waitConns(b *testing.B, a *Adapter, n int) {
	deadline := time.Now().Add(20 * time.Second)
	for a.Connections() != n {
		if time.Now().After(deadline) {
			b.Fatal(fmt.Sprintf("%d connections, want %d", a.Connections(), n))
		}
		time.Sleep(time.Millisecond)
	}
}
