package telegram

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// gate is the bot-wide send rate (a token bucket) with two classes of
// waiters: a chat's first reply since its customer wrote goes before the
// follow-ups queued for other chats. Telegram allows about 30 messages a
// second for the whole bot; when more are due, a customer who just wrote
// should not wait behind the second and third messages of other chats'
// turns. Within a class, waiters are served in arrival order.
type gate struct {
	mu     sync.Mutex
	inf    bool
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
	queues [2][]*gateWaiter // [0]: first replies, [1]: the rest
	timer  *time.Timer      // set while waiters wait for a token
	now    func() time.Time
}

type gateWaiter struct {
	ready   chan struct{}
	granted bool
}

func newGate(r rate.Limit, burst int) *gate {
	g := &gate{inf: r == rate.Inf, rate: float64(r), burst: float64(max(burst, 1)), now: time.Now}
	g.tokens, g.last = g.burst, g.now()
	return g
}

// wait takes a token, waiting for one if needed; first marks a chat's first
// reply since its customer wrote.
func (g *gate) wait(ctx context.Context, first bool) error {
	if g.inf {
		return nil
	}
	g.mu.Lock()
	g.refill()
	if len(g.queues[0])+len(g.queues[1]) == 0 && g.tokens >= 1 {
		g.tokens-- // the common case: no queue, no allocation
		g.mu.Unlock()
		return nil
	}
	w := &gateWaiter{ready: make(chan struct{})}
	class := 1
	if first {
		class = 0
	}
	g.queues[class] = append(g.queues[class], w)
	g.grant()
	g.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.granted {
		g.tokens++ // not used: the next waiter may have it
		g.grant()
	} else {
		g.drop(class, w)
	}
	return fmt.Errorf("telegram: waiting for the bot's rate limit: %w", ctx.Err())
}

func (g *gate) refill() {
	now := g.now()
	if d := now.Sub(g.last); d > 0 {
		g.tokens = min(g.burst, g.tokens+d.Seconds()*g.rate)
	}
	g.last = now
}

// grant hands the tokens there are to waiters, first replies first, and
// arms the timer for the next token while any still wait. g.mu is held.
func (g *gate) grant() {
	g.refill()
	for g.tokens >= 1 {
		w := g.pop()
		if w == nil {
			return
		}
		g.tokens--
		w.granted = true
		close(w.ready)
	}
	if g.timer != nil || len(g.queues[0])+len(g.queues[1]) == 0 {
		return
	}
	next := time.Duration((1 - g.tokens) / g.rate * float64(time.Second))
	g.timer = time.AfterFunc(max(next, time.Millisecond), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.timer = nil
		g.grant()
	})
}

func (g *gate) pop() *gateWaiter {
	for c := range g.queues {
		if q := g.queues[c]; len(q) > 0 {
			w := q[0]
			q[0] = nil
			g.queues[c] = q[1:]
			return w
		}
	}
	return nil
}

// drop takes a waiter that gave up out of its queue.
func (g *gate) drop(class int, w *gateWaiter) {
	g.queues[class] = slices.DeleteFunc(g.queues[class], func(x *gateWaiter) bool { return x == w })
}
