package webchat

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// fakeWaiting is a human queue with one state per visitor id.
type fakeWaiting struct {
	mu     sync.Mutex
	states map[string]QueueState
	typing []string
}

func (f *fakeWaiting) QueueState(ctx context.Context, v channel.Address) (QueueState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.states[v.ID], nil
}

func (f *fakeWaiting) VisitorTyping(ctx context.Context, v channel.Address) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.typing = append(f.typing, v.String())
}

func (f *fakeWaiting) typed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.typing...)
}

func TestQueueStateOnConnectAndOnChange(t *testing.T) {
	a, srv := testServer(t, Config{}, &recorder{}, nil)
	w := &fakeWaiting{states: map[string]QueueState{}}
	a.SetWaiting(w)

	// A visitor the bot is talking to gets no queue frame on connect.
	c, hello, _ := connect(t, srv, "")
	c.quiet(100 * time.Millisecond)

	// Changes reach every open tab.
	c2, _, _ := connect(t, srv, hello.Token)
	ctx := context.Background()
	a.SendQueueState(ctx, hello.Visitor, QueueState{State: QueueQueued, Position: 2, WaitMinutes: 3})
	for _, cl := range []*client{c, c2} {
		if f := cl.next(); f.Type != "queue" || f.State != QueueQueued || f.Position != 2 || f.Wait != 3 {
			t.Errorf("queue frame = %+v, want queued 2, 3 min", f)
		}
	}
	a.SendQueueState(ctx, hello.Visitor, QueueState{State: QueueAgent, Agent: "Анна"})
	if f := c.next(); f.Type != "queue" || f.State != QueueAgent || f.Agent != "Анна" || f.Position != 0 {
		t.Errorf("queue frame = %+v, want agent Анна", f)
	}
	a.SendAgentTyping(ctx, hello.Visitor, "Анна")
	if f := c.next(); f.Type != "typing" || f.Sender != "Анна" {
		t.Errorf("typing frame = %+v, want typing by Анна", f)
	}

	// A tab opened while queued is told on connect, after the history.
	w.mu.Lock()
	w.states[hello.Visitor] = QueueState{State: QueueQueued, Position: 1}
	w.mu.Unlock()
	c3, _, _ := connect(t, srv, hello.Token)
	if f := c3.next(); f.Type != "queue" || f.State != QueueQueued || f.Position != 1 || f.Wait != 0 {
		t.Errorf("queue frame on connect = %+v, want queued 1 without estimate", f)
	}
}

func TestVisitorTypingIsThrottled(t *testing.T) {
	a, srv := testServer(t, Config{}, &recorder{}, nil)
	w := &fakeWaiting{states: map[string]QueueState{}}
	a.SetWaiting(w)
	c, hello, _ := connect(t, srv, "")
	for range 3 {
		c.send(map[string]string{"type": "typing"})
	}
	c.send(map[string]string{"type": "ping"})
	if f := c.next(); f.Type != "pong" {
		t.Fatalf("frame = %+v, want pong (typing is not answered)", f)
	}
	got := w.typed()
	if len(got) != 1 || got[0] != "web:"+hello.Visitor {
		t.Errorf("typing passed on = %q, want one for web:%s", got, hello.Visitor)
	}

	// After a message, typing is a new message's: passed on at once.
	c.send(map[string]string{"type": "message", "id": "m1", "text": "жду"})
	if f := c.next(); f.Type != "ack" {
		t.Fatalf("frame = %+v, want ack", f)
	}
	c.send(map[string]string{"type": "typing"})
	waitFor(t, "typing after a message", func() bool { return len(w.typed()) == 2 })
}
