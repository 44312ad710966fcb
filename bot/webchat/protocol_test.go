package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
)

func TestHelloIssuesTokenAndReconnectKeepsVisitor(t *testing.T) {
	a, srv := testServer(t, Config{}, &recorder{}, nil)
	c1, hello, hist := connect(t, srv, "")
	if len(hello.Visitor) != 32 || strings.Trim(hello.Visitor, "0123456789abcdef") != "" {
		t.Errorf("visitor = %q, want 32 hex digits (128 bits)", hello.Visitor)
	}
	if got, err := a.signer.verify(hello.Token); err != nil || got != hello.Visitor {
		t.Errorf("token does not verify to the visitor: %q, %v", got, err)
	}
	if len(hist.Items) != 0 {
		t.Errorf("history of a new visitor = %+v, want empty", hist.Items)
	}
	c1.ws.Close(websocket.StatusNormalClosure, "")

	_, hello2, _ := connect(t, srv, hello.Token)
	if hello2.Visitor != hello.Visitor || hello2.Token != hello.Token {
		t.Errorf("reconnect: visitor %q token %q, want %q %q", hello2.Visitor, hello2.Token, hello.Visitor, hello.Token)
	}
	_, other, _ := connect(t, srv, "")
	if other.Visitor == hello.Visitor {
		t.Error("two new visitors got the same id")
	}
}

func TestForgedTokenRefused(t *testing.T) {
	rec := &recorder{}
	a, srv := testServer(t, Config{}, rec, nil)
	visitor, good := a.signer.issue()
	otherKey := signer{secret: []byte("another-secret-of-32-bytes......")}
	_, foreign := otherKey.issue()
	// The same visitor id with the MAC of another visitor.
	_, second := a.signer.issue()
	parts, parts2 := strings.Split(good, "."), strings.Split(second, ".")
	swapped := parts[0] + "." + parts2[1] + "." + parts[2]
	flipped := []byte(good)
	flipped[len(flipped)-2] ^= 1

	for name, tok := range map[string]string{
		"other secret":       foreign,
		"swapped visitor id": swapped,
		"flipped mac bit":    string(flipped),
		"garbage":            "hello",
		"wrong version":      "v2" + good[2:],
		"client-chosen id":   "v1." + visitor + ".AAAAAAAAAAAAAAAAAAAAAA",
		"truncated":          good[:len(good)-3],
	} {
		t.Run(name, func(t *testing.T) {
			c, err := dial(t, srv, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.send(map[string]string{"type": "hello", "token": tok})
			if got := c.closed(); got != websocket.StatusPolicyViolation {
				t.Errorf("close status = %v, want %v", got, websocket.StatusPolicyViolation)
			}
		})
	}
	t.Run("message before hello", func(t *testing.T) {
		c, err := dial(t, srv, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.send(map[string]string{"type": "message", "id": "m1", "text": "hi"})
		if got := c.closed(); got != websocket.StatusPolicyViolation {
			t.Errorf("close status = %v, want %v", got, websocket.StatusPolicyViolation)
		}
	})
	if got := rec.inbound(); len(got) != 0 {
		t.Errorf("handler called with %+v", got)
	}
	if n := a.Connections(); n != 0 {
		t.Errorf("Connections() = %d after refusals, want 0", n)
	}
}

func TestOrigins(t *testing.T) {
	_, srv := testServer(t, Config{AllowedOrigins: []string{"shop.example.com", "*.example.org"}}, &recorder{}, nil)
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser: no cross-site risk
		{srv.URL, true},
		{"https://shop.example.com", true},
		{"https://www.example.org", true},
		{"https://evil.example", false},
		{"https://shop.example.com.evil.example", false},
		{"null", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, err := dial(t, srv, h)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.send(map[string]string{"type": "hello"})
				if f := c.next(); f.Type != "hello" {
					t.Errorf("got %+v, want hello", f)
				}
				return
			}
			if err == nil {
				t.Fatal("a foreign origin was accepted")
			}
			if !strings.Contains(err.Error(), "403") {
				t.Errorf("error = %v, want a 403", err)
			}
		})
	}
	t.Run("same host only by default", func(t *testing.T) {
		_, srv := testServer(t, Config{}, &recorder{}, nil)
		if _, err := dial(t, srv, http.Header{"Origin": {"https://shop.example.com"}}); err == nil {
			t.Error("a foreign origin was accepted with no AllowedOrigins")
		}
	})
}

func TestTooBigMessage(t *testing.T) {
	rec := &recorder{}
	_, srv := testServer(t, Config{MaxMessageBytes: 100}, rec, nil)
	c, _, _ := connect(t, srv, "")

	c.send(map[string]string{"type": "message", "id": "big", "text": strings.Repeat("я", 51)}) // 102 bytes
	want := frame{Type: "error", ID: "big", Code: codeTooBig, Error: "message: text is 102 bytes; the limit is 100"}
	if diff := cmp.Diff(want, c.next()); diff != "" {
		t.Errorf("too big (-want +got):\n%s", diff)
	}
	c.send(map[string]string{"type": "message", "id": "fits", "text": strings.Repeat("я", 50)})
	if f := c.next(); f.Type != "ack" || f.ID != "fits" {
		t.Errorf("after a refused message the connection must go on; got %+v", f)
	}
	if got := rec.inbound(); len(got) != 1 || got[0].EventID[len(got[0].EventID)-4:] != "fits" {
		t.Errorf("handler got %+v, want only the message that fits", got)
	}

	// A frame far over any valid message closes the connection.
	// The server may close before the client has written it all.
	_ = c.ws.Write(context.Background(), websocket.MessageText,
		[]byte(`{"type":"message","id":"huge","text":"`+strings.Repeat("a", 10000)+`"}`))
	if got := c.closed(); got != websocket.StatusMessageTooBig {
		t.Errorf("close status = %v, want %v", got, websocket.StatusMessageTooBig)
	}
}

func TestRateLimit(t *testing.T) {
	rec := &recorder{}
	// Refill is negligible, so exactly the burst passes.
	_, srv := testServer(t, Config{RatePerSecond: 0.001}, rec, nil)
	c, hello, _ := connect(t, srv, "")
	var acks, limited int
	for i := range 7 {
		c.send(map[string]string{"type": "message", "id": "m" + string(rune('a'+i)), "text": "hi"})
		switch f := c.next(); {
		case f.Type == "ack":
			acks++
		case f.Type == "error" && f.Code == codeRateLimited && f.ID != "":
			limited++
		default:
			t.Errorf("unexpected frame %+v", f)
		}
	}
	if acks != DefaultBurst || limited != 2 {
		t.Errorf("acks %d, rate limited %d; want %d and 2", acks, limited, DefaultBurst)
	}
	// The limit is per visitor: a second tab shares it, and so does a
	// reconnect.
	c2, _, _ := connect(t, srv, hello.Token)
	c2.send(map[string]string{"type": "message", "id": "other-tab", "text": "hi"})
	if f := c2.next(); f.Code != codeRateLimited {
		t.Errorf("second tab got %+v, want rate_limited", f)
	}
	if n := len(rec.inbound()); n != DefaultBurst {
		t.Errorf("handler called %d times, want %d", n, DefaultBurst)
	}
}

func TestAckOnlyAfterHandlerReturns(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan channel.Inbound, 1)
	rec := &recorder{fn: func(in channel.Inbound) error {
		entered <- in
		<-release
		return nil
	}}
	_, srv := testServer(t, Config{}, rec, nil)
	c, hello, _ := connect(t, srv, "")
	before := time.Now()
	c.send(map[string]string{"type": "message", "id": "c-1", "text": "Где мой заказ?"})
	in := <-entered
	c.quiet(100 * time.Millisecond) // the handler has not returned: no ack yet
	close(release)
	if f := c.next(); f.Type != "ack" || f.ID != "c-1" {
		t.Fatalf("got %+v, want ack c-1", f)
	}
	if in.At.Before(before.Add(-time.Second)) || in.At.After(time.Now()) {
		t.Errorf("At = %v, want about now", in.At)
	}
	in.At = time.Time{}
	want := channel.Inbound{
		From:    channel.Address{Channel: channel.Web, ID: hello.Visitor},
		EventID: "web:" + hello.Visitor + ":c-1",
		Text:    "Где мой заказ?",
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("inbound (-want +got):\n%s", diff)
	}
}

func TestHandlerErrorNoAckThenRetrySameEventID(t *testing.T) {
	fail := true
	rec := &recorder{fn: func(channel.Inbound) error {
		if fail {
			fail = false
			return errors.New("disk full")
		}
		return nil
	}}
	_, srv := testServer(t, Config{}, rec, nil)
	c, _, _ := connect(t, srv, "")
	msg := map[string]string{"type": "message", "id": "again", "text": "hello"}
	c.send(msg)
	if f := c.next(); f.Type != "error" || f.Code != codeRetry || f.ID != "again" {
		t.Fatalf("got %+v, want a retry error for the message and no ack", f)
	}
	c.send(msg) // the widget re-sends with the same id
	if f := c.next(); f.Type != "ack" || f.ID != "again" {
		t.Fatalf("got %+v, want ack", f)
	}
	got := rec.inbound()
	if len(got) != 2 || got[0].EventID != got[1].EventID {
		t.Errorf("EventIDs %+v: want the same id twice, for the runtime to dedupe", got)
	}
}

func TestButtonPress(t *testing.T) {
	rec := &recorder{}
	_, srv := testServer(t, Config{}, rec, nil)
	c, _, _ := connect(t, srv, "")
	c.send(map[string]string{"type": "button", "id": "b1", "value": "order", "text": "Где мой заказ?"})
	if f := c.next(); f.Type != "ack" {
		t.Fatalf("got %+v, want ack", f)
	}
	c.send(map[string]string{"type": "button", "id": "b2", "value": "human"})
	if f := c.next(); f.Type != "ack" {
		t.Fatalf("got %+v, want ack", f)
	}
	got := rec.inbound()
	if len(got) != 2 {
		t.Fatalf("handler got %d events", len(got))
	}
	if got[0].Payload != "order" || got[0].Text != "Где мой заказ?" {
		t.Errorf("button with label: payload %q text %q", got[0].Payload, got[0].Text)
	}
	if got[1].Payload != "human" || got[1].Text != "human" {
		t.Errorf("button without label: payload %q text %q, want the value as text", got[1].Payload, got[1].Text)
	}
}

func TestBadFrames(t *testing.T) {
	rec := &recorder{}
	_, srv := testServer(t, Config{}, rec, nil)
	c, _, _ := connect(t, srv, "")
	for _, tc := range []struct{ in, code, err string }{
		{`not json`, codeBadFrame, "frame must be a JSON object"},
		{`{"type":"message","id":"x"`, codeBadFrame, "frame is not valid JSON at byte 26: unexpected end of JSON input"},
		{`{"type":"message","id":"x","text":5}`, codeBadFrame, `frame field "text" must be a string, not number`},
		{`{"type":"message","text":"hi"}`, codeBadFrame, `message: "id" is missing`},
		{`{"type":"message","id":"a:b","text":"hi"}`, codeBadFrame, `message: "id" has ':' at byte 1; use letters, digits, - and _`},
		{`{"type":"message","id":"x","text":"  "}`, codeBadFrame, "message: text is empty"},
		{`{"type":"button","id":"x","text":"label"}`, codeBadFrame, "button: value is empty"},
		{`{"type":"hello"}`, codeBadFrame, "hello was already received"},
		{`{"type":"launch"}`, codeBadFrame, `unknown frame type "launch" (want hello, message, button, typing, seen or ping)`},
	} {
		c.sendRaw([]byte(tc.in))
		f := c.next()
		if f.Type != "error" || f.Code != tc.code || f.Error != tc.err {
			t.Errorf("%s: got %+v, want %s %q", tc.in, f, tc.code, tc.err)
		}
	}
	c.send(map[string]string{"type": "ping"})
	if f := c.next(); f.Type != "pong" {
		t.Errorf("ping: got %+v", f)
	}
	if got := rec.inbound(); len(got) != 0 {
		t.Errorf("handler called with %+v", got)
	}
}

func TestSendToOfflineAndOtherChannels(t *testing.T) {
	a, _ := testServer(t, Config{}, &recorder{}, nil)
	ctx := context.Background()
	if err := a.Send(ctx, channel.Outbound{To: channel.Address{Channel: channel.Web, ID: "nobody"}, Key: "k1", Text: "hi"}); err != nil {
		t.Errorf("Send to an offline visitor = %v, want nil", err)
	}
	if err := a.SendTyping(ctx, channel.Address{Channel: channel.Web, ID: "nobody"}); err != nil {
		t.Errorf("SendTyping to an offline visitor = %v, want nil", err)
	}
	err := a.Send(ctx, channel.Outbound{To: channel.Address{Channel: channel.Telegram, ID: "1"}, Text: "hi"})
	if !channel.IsPermanent(err) {
		t.Errorf("Send to telegram = %v, want a permanent error", err)
	}
	if a.Channel() != channel.Web {
		t.Errorf("Channel() = %q", a.Channel())
	}
}

func TestTwoTabs(t *testing.T) {
	rec := &recorder{}
	a, srv := testServer(t, Config{}, rec, nil)
	tab1, hello, _ := connect(t, srv, "")
	tab2, _, _ := connect(t, srv, hello.Token)
	stranger, _, _ := connect(t, srv, "")
	waitFor(t, "3 connections", func() bool { return a.Connections() == 3 })

	to := channel.Address{Channel: channel.Web, ID: hello.Visitor}
	out := channel.Outbound{To: to, Key: "ob-1", Text: "Чем помочь?", Sender: "Анна",
		Buttons: []channel.Button{{Text: "Заказ", Value: "order"}}, Image: "javascript:alert(1)"}
	if err := a.Send(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	for i, tab := range []*client{tab1, tab2} {
		f := tab.next()
		f.At = time.Time{}
		want := frame{Type: "message", ID: "ob-1", Text: "Чем помочь?", Sender: "Анна", Buttons: out.Buttons}
		if diff := cmp.Diff(want, f); diff != "" {
			t.Errorf("tab %d (-want +got):\n%s", i+1, diff)
		}
	}
	if err := a.SendTyping(context.Background(), to); err != nil {
		t.Fatal(err)
	}
	for _, tab := range []*client{tab1, tab2} {
		if f := tab.next(); f.Type != "typing" {
			t.Errorf("got %+v, want typing", f)
		}
	}

	tab1.send(map[string]string{"type": "message", "id": "from-tab-1", "text": "<b>hi</b>"})
	if f := tab1.next(); f.Type != "ack" || f.ID != "from-tab-1" {
		t.Errorf("sender tab got %+v, want ack", f)
	}
	f := tab2.next()
	if f.Type != "echo" || f.ID != "from-tab-1" || f.Text != "<b>hi</b>" {
		t.Errorf("other tab got %+v, want the echo", f)
	}
	stranger.quiet(50 * time.Millisecond)
	tab1.quiet(0)

	tab1.ws.Close(websocket.StatusNormalClosure, "")
	tab2.ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "1 connection", func() bool { return a.Connections() == 1 })
}

func TestHistoryOnConnect(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var asked channel.Address
	var limit int
	hist := histFunc(func(_ context.Context, v channel.Address, n int) ([]Item, error) {
		asked, limit = v, n
		return []Item{
			{ID: "web:" + v.ID + ":c1", Dir: DirIn, Text: "hi", At: at},
			{ID: "ob-1", Dir: DirOut, Text: "Hello!", Buttons: []channel.Button{{Text: "A", Value: "a"}}, At: at.Add(time.Second)},
			{ID: "ob-2", Dir: DirOut, Text: "Anna here", Sender: "Anna", At: at.Add(2 * time.Second)},
		}, nil
	})
	_, srv := testServer(t, Config{HistoryLimit: 20}, &recorder{}, hist)
	_, hello, h := connect(t, srv, "")
	want := []itemFrame{
		{ID: "c1", Dir: DirIn, Text: "hi", At: at},
		{ID: "ob-1", Dir: DirOut, Text: "Hello!", Buttons: []channel.Button{{Text: "A", Value: "a"}}, At: at.Add(time.Second)},
		{ID: "ob-2", Dir: DirOut, Text: "Anna here", Sender: "Anna", At: at.Add(2 * time.Second)},
	}
	if diff := cmp.Diff(want, h.Items); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if asked != (channel.Address{Channel: channel.Web, ID: hello.Visitor}) || limit != 20 {
		t.Errorf("History asked for %v limit %d", asked, limit)
	}
}

func TestHistoryError(t *testing.T) {
	hist := histFunc(func(context.Context, channel.Address, int) ([]Item, error) { return nil, errors.New("db locked") })
	_, srv := testServer(t, Config{}, &recorder{}, hist)
	c, err := dial(t, srv, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]string{"type": "hello"})
	if f := c.next(); f.Type != "hello" {
		t.Fatalf("got %+v", f)
	}
	if f := c.next(); f.Type != "error" || f.Code != codeRetry {
		t.Errorf("got %+v, want a retry error", f)
	}
	// The connection still carries messages.
	c.send(map[string]string{"type": "message", "id": "x", "text": "hi"})
	if f := c.next(); f.Type != "ack" {
		t.Errorf("got %+v, want ack", f)
	}
}

func TestCloseSaysGoingAway(t *testing.T) {
	a, srv := testServer(t, Config{}, &recorder{}, nil)
	c, _, _ := connect(t, srv, "")
	waitFor(t, "registration", func() bool { return a.Connections() == 1 })
	a.Close()
	if got := c.closed(); got != websocket.StatusGoingAway {
		t.Errorf("close status = %v, want going away", got)
	}
	waitFor(t, "0 connections", func() bool { return a.Connections() == 0 })
}

func TestTooManyRefusedFramesClose(t *testing.T) {
	_, srv := testServer(t, Config{}, &recorder{}, nil)
	c, _, _ := connect(t, srv, "")
	for range maxStrikes {
		c.sendRaw([]byte("x"))
	}
	if got := c.closed(); got != websocket.StatusPolicyViolation {
		t.Errorf("close status = %v, want policy violation", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Secret: []byte("short")}, "webchat: Secret is 5 bytes; want at least 16"},
		{Config{MaxMessageBytes: -1}, "webchat: MaxMessageBytes is -1; want > 0"},
		{Config{RatePerSecond: -2}, "webchat: RatePerSecond is -2; want > 0"},
		{Config{AllowedOrigins: []string{"ok.example", "*"}}, `webchat: AllowedOrigins[1] is "*": list the sites that embed the widget`},
		{Config{AllowedOrigins: []string{""}}, "webchat: AllowedOrigins[0] is empty"},
		{Config{IdleTimeout: time.Millisecond}, "webchat: IdleTimeout is 1ms; want at least 1s"},
	} {
		_, err := New(tc.cfg, nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	a, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.cfg.MaxMessageBytes != 4096 || a.cfg.RatePerSecond != 1 || a.cfg.Title != "Chat" {
		t.Errorf("defaults: %+v", a.cfg)
	}
}

type handlerFunc func(context.Context, channel.Inbound) error

func (f handlerFunc) HandleInbound(ctx context.Context, in channel.Inbound) error { return f(ctx, in) }

// TestTurnRepliesRideWithTheAck: what the handler sends with the context
// it got waits until the message is acknowledged: then a tab that reads
// batches gets the ack and the replies in one frame, the visitor's other
// tabs get the echo before the replies, and a tab that did not ask for
// batches gets one object per frame. A send after the handler returned is
// written on its own, not lost.
func TestTurnRepliesRideWithTheAck(t *testing.T) {
	var a *Adapter
	late := make(chan error, 1)
	h := handlerFunc(func(ctx context.Context, in channel.Inbound) error {
		for i, text := range []string{"Доставка 2–3 дня.", "Могу ещё чем-то помочь?"} {
			out := channel.Outbound{To: in.From, Key: fmt.Sprint(i + 1), Text: text}
			if err := a.Send(ctx, out); err != nil {
				return err
			}
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			late <- a.Send(context.WithoutCancel(ctx), channel.Outbound{To: in.From, Key: "3", Text: "позже"})
		}()
		return nil
	})
	a, srv := testServer(t, Config{}, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	open := func(hello string) *websocket.Conn {
		ws, _, err := websocket.Dial(ctx, wsURL(srv), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		ws.Write(ctx, websocket.MessageText, []byte(hello))
		return ws
	}
	// readFrame returns the objects of the next frame.
	readFrame := func(ws *websocket.Conn) []frame {
		t.Helper()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var fs []frame
		for _, line := range strings.Split(string(b), "\n") {
			var f frame
			if err := json.Unmarshal([]byte(line), &f); err != nil {
				t.Fatalf("frame line %q: %v", line, err)
			}
			fs = append(fs, f)
		}
		return fs
	}
	// read returns them as "type id text".
	read := func(ws *websocket.Conn) []string {
		t.Helper()
		var got []string
		for _, f := range readFrame(ws) {
			got = append(got, strings.TrimSpace(f.Type+" "+f.ID+" "+f.Text))
		}
		return got
	}
	tab1 := open(`{"type":"hello","batch":true}`)
	hello := readFrame(tab1)[0]
	read(tab1) // history
	tab2 := open(`{"type":"hello","token":"` + hello.Token + `"}`)
	read(tab2)
	read(tab2)
	tab3 := open(`{"type":"hello","batch":true,"token":"` + hello.Token + `"}`)
	read(tab3)
	read(tab3)
	waitFor(t, "3 connections", func() bool { return a.Connections() == 3 })

	tab1.Write(ctx, websocket.MessageText, []byte(`{"type":"message","id":"q1","text":"доставка"}`))
	want := []string{"ack q1", "message 1 Доставка 2–3 дня.", "message 2 Могу ещё чем-то помочь?"}
	if diff := cmp.Diff(want, read(tab1)); diff != "" {
		t.Errorf("the sending tab's frame (-want +got):\n%s", diff)
	}
	want = []string{"echo q1 доставка", "message 1 Доставка 2–3 дня.", "message 2 Могу ещё чем-то помочь?"}
	if diff := cmp.Diff(want, read(tab3)); diff != "" {
		t.Errorf("another tab that reads batches (-want +got):\n%s", diff)
	}
	var got []string
	for range 3 {
		got = append(got, read(tab2)...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a tab without batches, a frame per object (-want +got):\n%s", diff)
	}
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	for i, tab := range []*websocket.Conn{tab1, tab2, tab3} {
		if diff := cmp.Diff([]string{"message 3 позже"}, read(tab)); diff != "" {
			t.Errorf("tab %d, the late send (-want +got):\n%s", i+1, diff)
		}
	}

	// The tab without batches sends: the ack first, then the replies, each
	// on its own.
	tab2.Write(ctx, websocket.MessageText, []byte(`{"type":"message","id":"q2","text":"доставка"}`))
	got = nil
	for range 3 {
		got = append(got, read(tab2)...)
	}
	want = []string{"ack q2", "message 1 Доставка 2–3 дня.", "message 2 Могу ещё чем-то помочь?"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a tab without batches (-want +got):\n%s", diff)
	}
	want = []string{"echo q2 доставка", "message 1 Доставка 2–3 дня.", "message 2 Могу ещё чем-то помочь?"}
	if diff := cmp.Diff(want, read(tab1)); diff != "" {
		t.Errorf("the first tab sees the second tab's message before the replies (-want +got):\n%s", diff)
	}
}

// TestIdleConnectionClosed: a connection that sends nothing for IdleTimeout
// is closed; one that pings more often stays, and so does one whose message
// takes longer than IdleTimeout to handle.
func TestIdleConnectionClosed(t *testing.T) {
	slow := &recorder{fn: func(channel.Inbound) error { time.Sleep(1500 * time.Millisecond); return nil }}
	_, srv := testServer(t, Config{IdleTimeout: time.Second}, slow, nil)
	quiet, _, _ := connect(t, srv, "")
	pinging, _, _ := connect(t, srv, "")
	busy, _, _ := connect(t, srv, "")
	busy.send(map[string]string{"type": "message", "id": "b1", "text": "долго"})
	for range 4 {
		time.Sleep(400 * time.Millisecond)
		pinging.send(map[string]string{"type": "ping"})
		if f := pinging.next(); f.Type != "pong" {
			t.Fatalf("got %+v, want pong", f)
		}
	}
	if f := busy.next(); f.Type != "ack" || f.ID != "b1" {
		t.Fatalf("busy tab got %+v, want the ack of b1", f)
	}
	select {
	case <-quiet.done:
	case <-time.After(3 * time.Second):
		t.Fatal("the quiet connection is still open after 3 s with a 1 s idle limit")
	}
	select {
	case <-pinging.done:
		t.Fatalf("the pinging connection was closed: %v", pinging.err)
	default:
	}
}
