package handoff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// isLead reports whether a sees and manages every ticket.
func isLead(a store.Agent) bool { return a.Role == RoleLead || a.Role == RoleAdmin }

// canView: leads see everything; agents see the queue and their own tickets
// (including the ones they resolved).
func canView(a store.Agent, t store.Ticket) bool {
	return isLead(a) || t.Status == StatusQueued || t.AgentID == a.ID
}

// Visible returns the ticket if a may see it.
func (s *Service) Visible(a store.Agent, id uint64) (store.Ticket, error) {
	t, err := s.st.Ticket(id)
	if err != nil {
		return store.Ticket{}, fmt.Errorf("ticket %d: %w", id, err)
	}
	if !canView(a, t) {
		return store.Ticket{}, fmt.Errorf("ticket %d belongs to another agent: %w", id, ErrForbidden)
	}
	return t, nil
}

// Claim gives a queued ticket to agent a. It is atomic: of two agents
// claiming at once exactly one wins, the other gets ErrConflict. Claiming a
// ticket one already holds succeeds.
func (s *Service) Claim(ctx context.Context, a store.Agent, id uint64) (store.Ticket, error) {
	now := s.now()
	t, err := s.st.UpdateTicket(ctx, id, func(t *store.Ticket) error {
		switch {
		case t.Status == StatusAssigned && t.AgentID == a.ID:
			return errAlreadyMine
		case t.Status != StatusQueued:
			return fmt.Errorf("ticket %d is %s (%s): %w", t.ID, t.Status, t.AgentID, store.ErrConflict)
		}
		t.Status, t.AgentID, t.AssignedAt = StatusAssigned, a.ID, now
		return nil
	})
	if errors.Is(err, errAlreadyMine) {
		return s.st.Ticket(id)
	}
	if err != nil {
		return store.Ticket{}, fmt.Errorf("claim ticket %d: %w", id, err)
	}
	s.assigned(ctx, t, a, "claim")
	return t, nil
}

// errAlreadyMine aborts a no-op update without writing.
var errAlreadyMine = errors.New("already assigned to this agent")

// assigned runs after a ticket got a new agent: event, live update and a
// notice so the customer knows a person is here now.
func (s *Service) assigned(ctx context.Context, t store.Ticket, a store.Agent, how string) {
	if how != "transfer" {
		s.noteWait(t)
	}
	s.logEvents(ctx, s.event(t, "ticket.assigned", "agent", a.ID, "how", how))
	s.hub.publish(liveEvent{Type: "ticket", TicketID: t.ID, Status: t.Status, AgentID: t.AgentID})
	if s.d == nil {
		return
	}
	if owned, err := s.addressOwned(t); !owned {
		s.log.Warn().Err(err).Uint64("ticket", t.ID).Str("address", t.Address).Msg("assignment notice not sent: the ticket's channel is no longer its contact's")
		return
	}
	via, err := s.replyVia(t, "")
	if err != nil {
		s.log.Error().Err(err).Uint64("ticket", t.ID).Msg("assignment notice not sent")
		return
	}
	tx := s.texts(s.contactLang(t.ContactID))
	err = s.d.Deliver(ctx, Delivery{ContactID: t.ContactID, Address: via,
		Text: expand(tx.Assigned, "{agent}", displayName(a))})
	if err != nil {
		s.log.Error().Err(err).Uint64("ticket", t.ID).Msg("notify customer of assignment")
	}
}

// addressOwned reports whether ticket t's address (the channel it was
// opened from) still belongs to its contact. A lead may have undone the link
// that brought that channel to the contact: it is another contact's then,
// and a message sent there would reach another person and be kept in this
// contact's history. (store.UndoMerge leaves a ticket opened after the
// link with the survivor.)
func (s *Service) addressOwned(t store.Ticket) (bool, error) {
	if t.Address == "" {
		return true, nil // the runtime picks the contact's own channel
	}
	c, err := s.st.Contact(t.ContactID)
	if err != nil {
		return false, fmt.Errorf("ticket %d: contact %s: %w", t.ID, t.ContactID, err)
	}
	return slices.Contains(c.Identities, t.Address), nil
}

// replyStore finds the channel a contact wrote from last among its
// identities now (store.LastInboundAddress: a history walk that stops at
// the customer's newest message). A store without it leaves messages on
// the ticket's own address.
type replyStore interface {
	LastInboundAddress(contactID string) (string, error)
}

// replyVia returns the address a message to ticket t's customer goes to:
// want when the agent picked one (it must be one of the contact's
// identities now), else the channel the customer wrote from last, else the
// ticket's own address ("" lets the runtime choose). A customer who linked
// Telegram and the web chat and writes from the website is answered there.
// Only the contact's current identities are candidates, so a channel an
// undone link gave back to another person is never used; callers check
// addressOwned first, since the ticket's conversation may be that person's.
func (s *Service) replyVia(t store.Ticket, want string) (string, error) {
	if want != "" {
		c, err := s.st.Contact(t.ContactID)
		if err != nil {
			return "", fmt.Errorf("ticket %d: contact %s: %w", t.ID, t.ContactID, err)
		}
		if !slices.Contains(c.Identities, want) {
			return "", fmt.Errorf("address %q is not one of this customer's channels (%s): %w",
				want, strings.Join(c.Identities, ", "), ErrBadRequest)
		}
		return want, nil
	}
	if rs, ok := s.st.(replyStore); ok {
		addr, err := rs.LastInboundAddress(t.ContactID)
		if err != nil {
			return "", fmt.Errorf("ticket %d: the customer's last channel: %w", t.ID, err)
		}
		if addr != "" {
			return addr, nil
		}
	}
	return t.Address, nil
}

// errNotOwned explains a message refused by addressOwned.
func errNotOwned(t store.Ticket) error {
	return fmt.Errorf("ticket %d was opened from %s, which belongs to another contact now that a link was undone; nothing was sent: resolve this ticket and answer that customer in a ticket of their own: %w",
		t.ID, t.Address, ErrConflict)
}

func displayName(a store.Agent) string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.Name
}

// Reply sends an agent's message to the customer through the channel they
// wrote from last (ReplyVia with no address).
func (s *Service) Reply(ctx context.Context, a store.Agent, id uint64, text string) (store.Ticket, error) {
	return s.ReplyVia(ctx, a, id, text, "")
}

// ReplyVia sends an agent's message to the customer: to address when the
// agent picked one of the contact's channels, else to the channel the
// customer wrote from last (replyVia). Only the agent holding the ticket
// may reply; the first reply stamps FirstReplyAt in the same store turn as
// the message.
func (s *Service) ReplyVia(ctx context.Context, a store.Agent, id uint64, text, address string) (store.Ticket, error) {
	return s.reply(ctx, a, id, text, address, nil)
}

// reply is ReplyVia with stored files (ids of the contact's files) sent
// with the text; with files the text may be empty.
func (s *Service) reply(ctx context.Context, a store.Agent, id uint64, text, address string, files []string) (store.Ticket, error) {
	text = strings.TrimSpace(text)
	if (text == "" && len(files) == 0) || len([]rune(text)) > maxReplyLen {
		return store.Ticket{}, fmt.Errorf("reply: text must be 1..%d characters: %w", maxReplyLen, ErrBadRequest)
	}
	t, err := s.Visible(a, id)
	if err != nil {
		return store.Ticket{}, err
	}
	if t.Status != StatusAssigned || t.AgentID != a.ID {
		return store.Ticket{}, fmt.Errorf("ticket %d is %s to %q: claim it before replying: %w", id, t.Status, t.AgentID, ErrConflict)
	}
	if s.d == nil {
		return store.Ticket{}, fmt.Errorf("reply: no deliverer configured")
	}
	if owned, err := s.addressOwned(t); err != nil {
		return store.Ticket{}, err
	} else if !owned {
		return store.Ticket{}, errNotOwned(t)
	}
	via, err := s.replyVia(t, strings.TrimSpace(address))
	if err != nil {
		return store.Ticket{}, fmt.Errorf("reply to ticket %d: %w", id, err)
	}
	now := s.now()
	first := false
	change := &store.TicketChange{ID: id, Fn: func(x *store.Ticket) error {
		// Checked again inside the turn: a transfer may have happened since.
		if x.Status != StatusAssigned || x.AgentID != a.ID {
			return fmt.Errorf("ticket %d is no longer assigned to %s: %w", x.ID, a.ID, store.ErrConflict)
		}
		first = x.FirstReplyAt.IsZero()
		if first {
			x.FirstReplyAt = now
		}
		return nil
	}}
	err = s.d.Deliver(ctx, Delivery{ContactID: t.ContactID, Address: via, Text: text,
		SenderID: a.ID, SenderName: displayName(a), Files: files, Ticket: change})
	if err != nil {
		return store.Ticket{}, fmt.Errorf("reply to ticket %d: %w", id, err)
	}
	if first {
		t.FirstReplyAt = now
		s.logEvents(ctx, s.event(t, "ticket.first_reply", "agent", a.ID,
			"afrt_seconds", strconv.Itoa(int(now.Sub(t.CreatedAt).Seconds()))))
	} else {
		s.logEvents(ctx, s.event(t, "ticket.reply", "agent", a.ID))
	}
	s.hub.publish(liveEvent{Type: "message", TicketID: id, Status: t.Status, AgentID: a.ID, From: "agent"})
	return s.st.Ticket(id)
}

// Note adds an internal note: it is stored on the ticket, shown to agents and
// never sent to the customer.
func (s *Service) Note(ctx context.Context, a store.Agent, id uint64, text string) (store.Ticket, error) {
	text = strings.TrimSpace(text)
	if text == "" || len([]rune(text)) > maxFieldLen {
		return store.Ticket{}, fmt.Errorf("note: text must be 1..%d characters: %w", maxFieldLen, ErrBadRequest)
	}
	now := s.now()
	t, err := s.st.UpdateTicket(ctx, id, func(t *store.Ticket) error {
		if !canView(a, *t) {
			return fmt.Errorf("ticket %d belongs to another agent: %w", t.ID, ErrForbidden)
		}
		t.Notes = append(t.Notes, store.Note{AgentID: a.ID, Text: text, At: now})
		return nil
	})
	if err != nil {
		return store.Ticket{}, fmt.Errorf("note on ticket %d: %w", id, err)
	}
	s.logEvents(ctx, s.event(t, "ticket.note", "agent", a.ID))
	s.hub.publish(liveEvent{Type: "ticket", TicketID: id, Status: t.Status, AgentID: t.AgentID})
	return t, nil
}

// Transfer hands a ticket to another agent (to = "" puts it back in the
// queue). The holder may transfer their own ticket; leads may move any open
// ticket, queued ones included (that is the console's "reassign").
func (s *Service) Transfer(ctx context.Context, a store.Agent, id uint64, to string) (store.Ticket, error) {
	var target store.Agent
	if to != "" {
		var err error
		if target, err = s.st.Agent(to); err != nil {
			return store.Ticket{}, fmt.Errorf("transfer ticket %d: agent %q: %w", id, to, ErrBadRequest)
		}
	}
	now := s.now()
	from := ""
	t, err := s.st.UpdateTicket(ctx, id, func(t *store.Ticket) error {
		switch {
		case t.Status == StatusResolved:
			return fmt.Errorf("ticket %d is resolved: %w", t.ID, store.ErrConflict)
		case !isLead(a) && (t.Status != StatusAssigned || t.AgentID != a.ID):
			return fmt.Errorf("ticket %d is not yours to transfer: %w", t.ID, ErrForbidden)
		case to != "" && t.AgentID == to && t.Status == StatusAssigned:
			return fmt.Errorf("ticket %d is already with %s: %w", t.ID, to, ErrBadRequest)
		}
		from = t.AgentID
		if to == "" {
			t.Status, t.AgentID, t.AssignedAt = StatusQueued, "", now
			return nil
		}
		t.Status, t.AgentID, t.AssignedAt = StatusAssigned, to, now
		return nil
	})
	if err != nil {
		return store.Ticket{}, fmt.Errorf("transfer ticket %d: %w", id, err)
	}
	s.logEvents(ctx, s.event(t, "ticket.transferred", "from", from, "to", to, "by", a.ID))
	if to == "" {
		s.hub.publish(liveEvent{Type: "ticket", TicketID: id, Status: t.Status})
		s.autoAssign(ctx)
	} else {
		s.assigned(ctx, t, target, "transfer")
	}
	return t, nil
}

// Resolve closes a ticket and decides what follows: back to the bot at the
// resume point (OutcomeBot), a CSAT question (OutcomeCSAT), or the end
// (OutcomeEnd, reopened if the customer writes within the reopen window).
// With LeadConfig.CSATEvery every outcome becomes OutcomeCSAT.
// The closing message and the ticket change are one store turn.
func (s *Service) Resolve(ctx context.Context, a store.Agent, id uint64, outcome string) (store.Ticket, error) {
	switch outcome {
	case OutcomeBot, OutcomeEnd:
	case OutcomeCSAT:
		if !s.lead().CSAT {
			return store.Ticket{}, fmt.Errorf("resolve: CSAT is switched off in the config: %w", ErrBadRequest)
		}
	default:
		return store.Ticket{}, fmt.Errorf("resolve: outcome %q: want bot, csat or end: %w", outcome, ErrBadRequest)
	}
	if s.d == nil {
		return store.Ticket{}, fmt.Errorf("resolve: no deliverer configured")
	}
	t, err := s.Visible(a, id)
	if err != nil {
		return store.Ticket{}, err
	}
	if lc := s.lead(); lc.CSAT && lc.CSATEvery && outcome != OutcomeCSAT {
		// The project asks for a rating after every ticket (csat: always):
		// where the question can reach the customer, it is asked, and the
		// bot takes the conversation back after the answer.
		if owned, err := s.addressOwned(t); err == nil && owned {
			outcome = OutcomeCSAT
		}
	}
	now := s.now()
	change := &store.TicketChange{ID: id, Fn: func(x *store.Ticket) error {
		switch {
		case x.Status == StatusResolved:
			return fmt.Errorf("ticket %d is already resolved: %w", x.ID, store.ErrConflict)
		case !isLead(a) && (x.Status != StatusAssigned || x.AgentID != a.ID):
			return fmt.Errorf("ticket %d is not yours to resolve: %w", x.ID, ErrForbidden)
		}
		x.Status, x.Outcome, x.ResolvedAt = StatusResolved, outcome, now
		return nil
	}}
	if err := s.closeWith(ctx, t, outcome, change); err != nil {
		return store.Ticket{}, fmt.Errorf("resolve ticket %d: %w", id, err)
	}
	t, err = s.st.Ticket(id)
	if err != nil {
		return store.Ticket{}, fmt.Errorf("resolve ticket %d: %w", id, err)
	}
	s.logEvents(ctx, s.event(t, "ticket.resolved", "agent", a.ID, "outcome", outcome,
		"resolution_seconds", strconv.Itoa(int(now.Sub(t.CreatedAt).Seconds()))))
	s.hub.publish(liveEvent{Type: "ticket", TicketID: id, Status: t.Status, AgentID: t.AgentID})
	if outcome == OutcomeBot {
		if err := s.d.Resume(ctx, t.ContactID); err != nil {
			// The ticket is closed either way; the customer's next message
			// reaches the bot, so log rather than fail the agent's click.
			s.log.Error().Err(err).Uint64("ticket", id).Msg("resume bot after resolve")
		}
	}
	s.autoAssign(ctx) // the agent has room for the next one
	return t, nil
}

// closeWith commits a resolve: with the closing message (or the CSAT
// question) in the same turn, or, when the ticket's channel is no longer
// its contact's (addressOwned), without a message.
func (s *Service) closeWith(ctx context.Context, t store.Ticket, outcome string, change *store.TicketChange) error {
	owned, err := s.addressOwned(t)
	if err != nil {
		return err
	}
	if !owned {
		if outcome == OutcomeCSAT {
			return fmt.Errorf("ticket %d was opened from %s, which belongs to another contact now that a link was undone, so the rating question cannot be asked there: resolve it with outcome bot or end: %w", t.ID, t.Address, ErrConflict)
		}
		s.log.Warn().Uint64("ticket", t.ID).Str("address", t.Address).Msg("resolved without the closing message: the ticket's channel is no longer its contact's")
		_, err := s.st.UpdateTicket(ctx, t.ID, change.Fn)
		return err
	}
	via, err := s.replyVia(t, "")
	if err != nil {
		return err
	}
	tx := s.texts(s.contactLang(t.ContactID))
	d := Delivery{ContactID: t.ContactID, Address: via, Text: tx.Resolved, Ticket: change}
	if outcome == OutcomeCSAT {
		d.Text = tx.CSATQuestion
		for i := 1; i <= 5; i++ {
			d.Buttons = append(d.Buttons, channel.Button{Text: strconv.Itoa(i), Value: "csat:" + strconv.Itoa(i)})
		}
	}
	return s.d.Deliver(ctx, d)
}

// autoAssign hands queued tickets, highest priority first and then oldest,
// round-robin to online agents below their capacity.
func (s *Service) autoAssign(ctx context.Context) {
	if !s.cfg.AutoAssign {
		return
	}
	s.assignMu.Lock()
	defer s.assignMu.Unlock()
	online := s.presence.online()
	if len(online) == 0 {
		return
	}
	queued, err := s.st.Tickets(StatusQueued)
	if err != nil || len(queued) == 0 {
		if err != nil {
			s.log.Error().Err(err).Msg("auto-assign: list queue")
		}
		return
	}
	load, err := s.heldTickets()
	if err != nil {
		s.log.Error().Err(err).Msg("auto-assign: list assigned")
		return
	}
	SortQueue(queued)
	sort.Strings(online)
	for _, t := range queued {
		agent, ok := s.nextAgent(online, load)
		if !ok {
			return
		}
		a, err := s.st.Agent(agent)
		if err != nil {
			s.log.Warn().Err(err).Str("agent", agent).Msg("auto-assign: unknown online agent")
			s.presence.drop(agent)
			continue
		}
		now := s.now()
		got, err := s.st.UpdateTicket(ctx, t.ID, func(x *store.Ticket) error {
			if x.Status != StatusQueued {
				return store.ErrConflict // claimed by hand meanwhile
			}
			x.Status, x.AgentID, x.AssignedAt = StatusAssigned, agent, now
			return nil
		})
		if err != nil {
			if !errors.Is(err, store.ErrConflict) {
				s.log.Error().Err(err).Uint64("ticket", t.ID).Msg("auto-assign")
			}
			continue
		}
		load[agent]++
		s.rrLast = agent
		s.assigned(ctx, got, a, "auto")
	}
}

// nextAgent is the round-robin step: the first online agent after the last
// one served that still has capacity.
func (s *Service) nextAgent(online []string, load map[string]int) (string, bool) {
	start := sort.SearchStrings(online, s.rrLast)
	if start < len(online) && online[start] == s.rrLast {
		start++
	}
	for i := 0; i < len(online); i++ {
		a := online[(start+i)%len(online)]
		if load[a] < s.cfg.Capacity {
			return a, true
		}
	}
	return "", false
}

// SortQueue orders tickets as the queue serves them: priority first, then age.
func SortQueue(ts []store.Ticket) {
	sort.SliceStable(ts, func(i, j int) bool {
		if ts[i].Priority != ts[j].Priority {
			return ts[i].Priority > ts[j].Priority
		}
		if !ts[i].CreatedAt.Equal(ts[j].CreatedAt) {
			return ts[i].CreatedAt.Before(ts[j].CreatedAt)
		}
		return ts[i].ID < ts[j].ID
	})
}
