package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/bot/channel"
)

// sendOrder is a Bot API that accepts every send and records the chats in
// the order the sends arrived.
type sendOrder struct {
	mu    sync.Mutex
	chats []string
}

func (s *sendOrder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if strings.HasSuffix(r.URL.Path, "/sendMessage") {
		s.mu.Lock()
		s.chats = append(s.chats, r.PostForm.Get("chat_id"))
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"ok":true,"result":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"}}}`)
}

func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queues[0]) + len(g.queues[1])
}

// When more is due than the bot-wide rate allows, a customer who just wrote
// gets the first reply before the follow-ups queued for other chats.
func TestFirstReplyGoesBeforeOtherChatsFollowUps(t *testing.T) {
	api := &sendOrder{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	a, err := New(Config{Token: testToken, APIURL: srv.URL, HTTPClient: loopbackClient(), Logger: zerolog.Nop(),
		GlobalRate: 20, ChatRate: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const followUps = 12 // the burst (6) goes at once, 6 wait
	var wg sync.WaitGroup
	for i := 1; i <= followUps; i++ {
		wg.Go(func() {
			if err := a.Send(ctx, channel.Outbound{To: tgAddr(fmt.Sprint(i)), Text: "follow-up"}); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.global.waiting() < followUps-globalBurst(20) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sends waiting at the gate, want %d", a.global.waiting(), followUps-globalBurst(20))
		}
		time.Sleep(time.Millisecond)
	}
	a.customerWrote(channel.Inbound{From: tgAddr("99")})
	if err := a.Send(ctx, channel.Outbound{To: tgAddr("99"), Text: "first reply"}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	pos := -1
	for i, c := range api.chats {
		if c == "99" {
			pos = i
		}
	}
	if pos != globalBurst(20) {
		t.Errorf("the first reply was send %d of %d (order %v), want %d: right after the burst, before every queued follow-up",
			pos+1, len(api.chats), api.chats, globalBurst(20)+1)
	}
	// The mark is spent: the chat's next send is a follow-up.
	if a.chats.takeFirst(99) {
		t.Error("the chat's second send still counts as a first reply")
	}
}

func TestGateKeepsTheRateAndLetsWaitersGiveUp(t *testing.T) {
	g := newGate(50, 1)
	start := time.Now()
	for range 6 {
		if err := g.wait(context.Background(), false); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("6 tokens at 50/s with a burst of 1 took %v, want ≥ 100ms", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	g2 := newGate(0.5, 1)
	g2.wait(context.Background(), true) // spends the only token for 2 s
	if err := g2.wait(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past the deadline: %v, want context.DeadlineExceeded", err)
	}
	if n := g2.waiting(); n != 0 {
		t.Errorf("%d waiters left after giving up, want 0", n)
	}
	if err := newGate(rate.Inf, 0).wait(context.Background(), false); err != nil {
		t.Errorf("unlimited gate: %v", err)
	}
}
