package webchat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// frame is any server frame, decoded loosely for assertions.
type frame struct {
	Type    string           `json:"type"`
	Token   string           `json:"token,omitempty"`
	Visitor string           `json:"visitor,omitempty"`
	Items   []itemFrame      `json:"items,omitempty"`
	Opening bool             `json:"opening,omitempty"`
	ID      string           `json:"id,omitempty"`
	Text    string           `json:"text,omitempty"`
	Buttons []channel.Button `json:"buttons,omitempty"`
	Image   string           `json:"image,omitempty"`
	Sender  string           `json:"sender,omitempty"`
	At      time.Time        `json:"at,omitzero"`
	Code    string           `json:"code,omitempty"`
	Error   string           `json:"error,omitempty"`
	// queue frames (wait.go)
	State    string `json:"state,omitempty"`
	Position int    `json:"position,omitempty"`
	Wait     int    `json:"wait,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// recorder is a channel.Handler that records what it got and answers with
// the error its func returns.
type recorder struct {
	mu  sync.Mutex
	got []channel.Inbound
	fn  func(channel.Inbound) error
}

func (r *recorder) HandleInbound(ctx context.Context, in channel.Inbound) error {
	var err error
	if r.fn != nil {
		err = r.fn(in)
	}
	r.mu.Lock()
	r.got = append(r.got, in)
	r.mu.Unlock()
	return err
}

func (r *recorder) inbound() []channel.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channel.Inbound(nil), r.got...)
}

type histFunc func(ctx context.Context, visitor channel.Address, limit int) ([]Item, error)

func (f histFunc) History(ctx context.Context, v channel.Address, limit int) ([]Item, error) {
	return f(ctx, v, limit)
}

// testServer runs an Adapter behind an httptest server on 127.0.0.1.
func testServer(t *testing.T, cfg Config, h channel.Handler, hist History) (*Adapter, *httptest.Server) {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t))
	a, err := New(cfg, hist)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler(h))
	t.Cleanup(func() {
		a.Close()
		srv.Close()
	})
	return a, srv
}

// client is one widget connection; a goroutine reads its frames so tests can
// wait for a frame with a timeout (a Read with a deadline would close the
// connection).
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan frame
	done   chan struct{}
	err    error // the read error, after done is closed
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws" }

func dial(t *testing.T, srv *httptest.Server, header http.Header) (*client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL(srv), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, err
	}
	return reading(t, ws), nil
}

// reading starts the goroutine that reads ws's frames into a client.
func reading(t *testing.T, ws *websocket.Conn) *client {
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, ws: ws, frames: make(chan frame, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			// A server frame holds one or more objects, one per line.
			for line := range bytes.SplitSeq(b, []byte{'\n'}) {
				var f frame
				if err := json.Unmarshal(line, &f); err != nil {
					c.err = err
					return
				}
				c.frames <- f
			}
		}
	}()
	t.Cleanup(func() { ws.CloseNow() })
	return c
}

// connect dials and says hello with token ("" for a new visitor), and
// returns the hello and history frames.
func connect(t *testing.T, srv *httptest.Server, token string) (*client, frame, frame) {
	t.Helper()
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]string{"type": "hello", "token": token})
	hello := c.next()
	if hello.Type != "hello" {
		t.Fatalf("first frame = %+v, want hello", hello)
	}
	hist := c.next()
	if hist.Type != "history" {
		t.Fatalf("second frame = %+v, want history", hist)
	}
	return c, hello, hist
}

func (c *client) send(v any) {
	c.t.Helper()
	c.sendRaw(mustJSON(v))
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing the test after 5 s.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		c.t.Fatalf("connection closed while waiting for a frame: %v", c.err)
	case <-time.After(5 * time.Second):
		c.t.Fatal("no frame within 5s")
	}
	return frame{}
}

// quiet asserts that no frame arrives for d.
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f := <-c.frames:
		c.t.Fatalf("unexpected frame %+v", f)
	case <-time.After(d):
	}
}

// closed waits for the server to close the connection and returns the status.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case f := <-c.frames:
			c.t.Logf("frame before close: %+v", f)
		case <-c.done:
			return websocket.CloseStatus(c.err)
		case <-time.After(5 * time.Second):
			c.t.Fatal("connection not closed within 5s")
			return -1
		}
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
