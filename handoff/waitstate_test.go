package handoff

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// waitLog records what a WaitNotifier is told.
type waitLog struct {
	mu     sync.Mutex
	last   map[string]WaitState
	typing []string
}

func (l *waitLog) WaitChanged(ctx context.Context, w WaitState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last[w.ContactID] = w
}

func (l *waitLog) AgentTyping(ctx context.Context, contactID, agent string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.typing = append(l.typing, contactID+" "+agent)
}

// await waits until the contact's last told state is want.
func (l *waitLog) await(t *testing.T, contactID string, want WaitState) {
	t.Helper()
	want.ContactID = contactID
	var got WaitState
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		got = l.last[contactID]
		l.mu.Unlock()
		if got == want {
			return
		}
	}
	t.Fatalf("wait state of %s = %+v, want %+v", contactID, got, want)
}

func TestWaitStatesFollowTheQueue(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	anna, boris := e.agent("anna", RoleAgent), e.agent("boris", RoleAgent)
	e.online(anna, boris)
	log := &waitLog{last: map[string]WaitState{}}
	e.svc.SetWaitNotifier(log)

	c1, c2, c3 := e.contact("web:v1", "", "ru"), e.contact("web:v2", "", "ru"), e.contact("web:v3", "", "ru")
	t1, _ := e.escalate(c1, "requested", "")
	e.clock.Advance(time.Second)
	t2, _ := e.escalate(c2, "requested", "")
	e.clock.Advance(time.Second)
	e.escalate(c3, "requested", "")
	log.await(t, c1.ID, WaitState{State: WaitQueued, Position: 1})
	log.await(t, c2.ID, WaitState{State: WaitQueued, Position: 2})
	log.await(t, c3.ID, WaitState{State: WaitQueued, Position: 3})

	// The first ticket claimed: its customer learns the agent's name, the
	// others move up, now with an estimate: the claim was a wait sample of
	// 2m02s, shared by two agents online (rounded up).
	e.clock.Advance(2 * time.Minute)
	e.online(anna, boris) // presence expires without a console's heartbeat
	if _, err := e.svc.Claim(ctx, anna, t1.ID); err != nil {
		t.Fatal(err)
	}
	log.await(t, c1.ID, WaitState{State: WaitAgent, Agent: "Anna"})
	log.await(t, c2.ID, WaitState{State: WaitQueued, Position: 1, WaitMinutes: 2})
	log.await(t, c3.ID, WaitState{State: WaitQueued, Position: 2, WaitMinutes: 3})
	if w, err := e.svc.WaitStateFor(c3.ID); err != nil || w != (WaitState{ContactID: c3.ID, State: WaitQueued, Position: 2, WaitMinutes: 3}) {
		t.Errorf("WaitStateFor(c3) = %+v, %v", w, err)
	}

	// Typing: only the agent holding the ticket.
	if err := e.svc.AgentTyping(ctx, anna, t1.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AgentTyping(ctx, boris, t2.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("typing on a ticket not held: %v, want ErrConflict", err)
	}
	log.mu.Lock()
	if len(log.typing) != 1 || log.typing[0] != c1.ID+" Anna" {
		t.Errorf("typing told = %q", log.typing)
	}
	log.mu.Unlock()

	// Resolved: back to the bot.
	if _, err := e.svc.Resolve(ctx, anna, t1.ID, OutcomeBot); err != nil {
		t.Fatal(err)
	}
	log.await(t, c1.ID, WaitState{State: WaitBot})
	if w, err := e.svc.WaitStateFor(c1.ID); err != nil || w.State != WaitBot {
		t.Errorf("WaitStateFor(c1) after resolve = %+v, %v", w, err)
	}
}
