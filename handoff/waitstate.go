package handoff

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/parley-chat/parley/store"
)

// Where a customer's conversation stands, as their web chat header shows it.
const (
	WaitBot    = "bot"    // no open ticket: the bot answers
	WaitQueued = "queued" // in the human queue
	WaitAgent  = "agent"  // an agent holds the ticket
)

// WaitState is where one contact's conversation stands while a person is
// involved: the queue position and expected wait, or the agent's name.
type WaitState struct {
	ContactID string
	State     string // WaitBot, WaitQueued or WaitAgent
	// Position (queued) is 1 for the next ticket to be taken.
	Position int
	// WaitMinutes (queued) is the expected wait; 0 when there is no
	// estimate (no recent waits, nobody online, out of hours).
	WaitMinutes int
	// Agent (agent) is the name the customer sees.
	Agent string
	// ReadAt (agent) is when the agent last read the conversation: the
	// customer's messages up to it are marked read in the web chat.
	ReadAt time.Time
}

// WaitNotifier is told what a waiting customer should see; cmd passes it on
// to the web chat. Its methods are called from one goroutine (WaitChanged)
// or an agent's request (AgentTyping) and must not block for long.
type WaitNotifier interface {
	// WaitChanged reports a contact whose wait state changed: their queue
	// position or estimate, an agent claiming, the ticket ending.
	WaitChanged(ctx context.Context, w WaitState)
	// AgentTyping reports that the agent holding the contact's ticket is
	// typing a reply.
	AgentTyping(ctx context.Context, contactID, agent string)
}

// SetWaitNotifier starts telling n about wait states: after every change to
// the queue (a ticket opened, claimed, transferred, resolved, an agent
// coming or going) the open tickets are read once and each contact whose
// state differs from the last one told is reported. Call it once, before
// traffic; Close stops it.
func (s *Service) SetWaitNotifier(n WaitNotifier) {
	kick := make(chan struct{}, 1)
	s.waitNotifier = n
	s.hub.onChange(func() {
		select {
		case kick <- struct{}{}:
		default: // a recount is pending; it sees this change too
		}
	})
	go s.watchWaits(n, kick)
}

// watchWaits recounts the queue on every kick until the service closes.
// Kicks coalesce, so a burst of changes costs one or two recounts.
func (s *Service) watchWaits(n WaitNotifier, kick <-chan struct{}) {
	told := map[string]WaitState{}
	ctx := context.Background()
	for {
		select {
		case <-s.hub.done:
			return
		case <-kick:
		}
		now, err := s.waitStates()
		if err != nil {
			s.log.Error().Err(err).Msg("queue positions for the web chat not updated")
			continue
		}
		for id, w := range now {
			if told[id] != w {
				n.WaitChanged(ctx, w)
			}
		}
		for id := range told {
			if _, open := now[id]; !open {
				n.WaitChanged(ctx, WaitState{ContactID: id, State: WaitBot})
			}
		}
		told = now
	}
}

// WaitStateFor is the wait state of one contact (the web chat asks when a
// visitor connects).
func (s *Service) WaitStateFor(contactID string) (WaitState, error) {
	t, ok, err := s.st.OpenTicketFor(contactID)
	if err != nil {
		return WaitState{}, fmt.Errorf("handoff: wait state of %s: %w", contactID, err)
	}
	if !ok {
		return WaitState{ContactID: contactID, State: WaitBot}, nil
	}
	if t.Status == StatusAssigned {
		return s.agentWait(t), nil
	}
	all, err := s.waitStates()
	if err != nil {
		return WaitState{}, err
	}
	if w, ok := all[contactID]; ok {
		return w, nil
	}
	return WaitState{ContactID: contactID, State: WaitQueued, Position: 1}, nil
}

// waitStates is the wait state of every contact with an open ticket.
func (s *Service) waitStates() (map[string]WaitState, error) {
	q, err := s.queueView()
	if err != nil {
		return nil, err
	}
	out := make(map[string]WaitState, len(q.open))
	for _, t := range q.open {
		if t.Status == StatusAssigned {
			out[t.ContactID] = s.agentWait(t)
			continue
		}
		pos := q.position(t)
		out[t.ContactID] = WaitState{ContactID: t.ContactID, State: WaitQueued, Position: pos,
			WaitMinutes: q.minutes(pos)}
	}
	return out, nil
}

func (s *Service) agentWait(t store.Ticket) WaitState {
	name := t.AgentID
	if a, err := s.st.Agent(t.AgentID); err == nil {
		name = displayName(a)
	}
	return WaitState{ContactID: t.ContactID, State: WaitAgent, Agent: name, ReadAt: t.AgentReadAt}
}

// queue is what a queue position and its estimate are computed from.
type queue struct {
	open   []store.Ticket // queued and assigned
	waits  map[uint64]time.Duration
	online int // agents online; 0 out of hours
}

// queueView reads the open tickets (the store indexes them, so the cost does
// not grow with the resolved history) and the recent waits.
func (s *Service) queueView() (queue, error) {
	open, err := s.ticketsIn(StatusQueued, StatusAssigned)
	if err != nil {
		return queue{}, fmt.Errorf("handoff: queue position: %w", err)
	}
	q := queue{open: open, waits: s.recentWaits()}
	now := s.now()
	for _, o := range q.open {
		if _, seen := q.waits[o.ID]; !seen && o.Status == StatusAssigned && now.Sub(o.AssignedAt) < 24*time.Hour && o.AssignedAt.After(queuedAt(o)) {
			q.waits[o.ID] = o.AssignedAt.Sub(queuedAt(o))
		}
	}
	if s.lead().Hours.Open(now) {
		q.online = len(s.presence.online())
	}
	return q, nil
}

// position is t's place in the queue: 1 + the queued tickets of higher
// priority, or of the same priority opened no later. t may be a ticket not
// yet stored (ID 0).
func (q queue) position(t store.Ticket) int {
	pos := 1
	for _, o := range q.open {
		if o.ID == t.ID && t.ID != 0 {
			continue
		}
		if o.Status == StatusQueued && (o.Priority > t.Priority || o.Priority == t.Priority && !o.CreatedAt.After(t.CreatedAt)) {
			pos++
		}
	}
	return pos
}

// minutes is the expected wait at pos: the average recent wait times the
// position, shared by the agents online; 0 = no estimate.
func (q queue) minutes(pos int) int {
	if len(q.waits) == 0 || q.online == 0 {
		return 0
	}
	var sum time.Duration
	for _, w := range q.waits {
		sum += w
	}
	avg := sum / time.Duration(len(q.waits))
	est := avg * time.Duration(pos) / time.Duration(q.online)
	return max(1, int(math.Ceil(est.Minutes())))
}

// CustomerTyping shows the consoles that the customer of an open ticket is
// typing (the web chat reports it, throttled).
func (s *Service) CustomerTyping(contactID string) {
	t, ok, err := s.st.OpenTicketFor(contactID)
	if err != nil || !ok {
		return
	}
	s.hub.publish(liveEvent{Type: "typing", TicketID: t.ID, Status: t.Status, AgentID: t.AgentID, From: "customer"})
}

// AgentTyping tells the customer that agent a is typing a reply on ticket
// id. Only the agent holding the ticket may; the console throttles it.
func (s *Service) AgentTyping(ctx context.Context, a store.Agent, id uint64) error {
	t, err := s.Visible(a, id)
	if err != nil {
		return err
	}
	if t.Status != StatusAssigned || t.AgentID != a.ID {
		return fmt.Errorf("ticket %d is %s to %q: claim it before typing: %w", id, t.Status, t.AgentID, ErrConflict)
	}
	if n := s.waitNotifier; n != nil {
		n.AgentTyping(ctx, t.ContactID, displayName(a))
	}
	return nil
}

// Read marks (web chat only: Telegram and VK give bots no read receipts).

// AgentRead records that agent a, who holds ticket id, has read the
// conversation now: the customer's web chat marks their messages read (the
// wait state's ReadAt, pushed by the WaitNotifier). Anyone else reading
// the ticket (a lead looking on) changes nothing.
func (s *Service) AgentRead(ctx context.Context, a store.Agent, id uint64) error {
	t, err := s.Visible(a, id)
	if err != nil {
		return err
	}
	if t.Status != StatusAssigned || t.AgentID != a.ID {
		return nil
	}
	now := s.now()
	if _, err := s.st.UpdateTicket(ctx, id, func(x *store.Ticket) error {
		if x.Status == StatusAssigned && x.AgentID == a.ID {
			x.AgentReadAt = now
		}
		return nil
	}); err != nil {
		return fmt.Errorf("handoff: read ticket %d: %w", id, err)
	}
	s.hub.publish(liveEvent{Type: "read", TicketID: id, Status: t.Status, AgentID: t.AgentID})
	return nil
}

// CustomerSeen records that the customer of an open, assigned ticket has
// seen the agent's replies now (their web chat reports it when a reply is
// on screen); the agent's console shows it.
func (s *Service) CustomerSeen(ctx context.Context, contactID string) {
	t, ok, err := s.st.OpenTicketFor(contactID)
	if err != nil || !ok || t.Status != StatusAssigned {
		return
	}
	now := s.now()
	if _, err := s.st.UpdateTicket(ctx, t.ID, func(x *store.Ticket) error {
		if x.Status == StatusAssigned {
			x.CustomerSeenAt = now
		}
		return nil
	}); err != nil {
		s.log.Warn().Err(err).Uint64("ticket", t.ID).Msg("the customer's seen mark not kept")
		return
	}
	s.hub.publish(liveEvent{Type: "seen", TicketID: t.ID, Status: t.Status, AgentID: t.AgentID})
}
