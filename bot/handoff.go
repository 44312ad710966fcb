package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// Handoff is what the runtime needs from the human queue.
type Handoff interface {
	Route(ctx context.Context, contactID, text, payload string) (handoff.Decision, error)
	Escalate(ctx context.Context, req handoff.Request) (store.Ticket, []handoff.Notice, error)
	Opened(ctx context.Context, t store.Ticket)
	CustomerMessage(ctx context.Context, t store.Ticket, m store.Message)
}

var _ handoff.Deliverer = (*Runtime)(nil)

// routeHandoff asks the queue who owns the conversation. It reports whether
// the message was taken care of; when not, the flow engine runs from the
// returned state with the returned outputs first (a resumed flow's words).
func (r *Runtime) routeHandoff(ctx context.Context, ts *turnState, eng *flows.Engine, st flows.State, in flows.Input) (bool, flows.State, []flows.Output, error) {
	d, err := r.handoff.Route(ctx, ts.turn.ContactID, in.Text, in.Payload)
	if err != nil {
		return false, st, nil, fmt.Errorf("route: %w", err)
	}
	ts.turn.UpdateTicket = d.Change
	ts.turn.Events = append(ts.turn.Events, d.Events...)
	r.sayNotices(ts, d.Notices)
	switch d.Owner {
	case handoff.OwnerTicket:
		// A human owns the conversation: the message joins the ticket and
		// the bot stays silent, except for triggers the lead marked
		// during_handoff (the engine knows them from the parked state).
		// A tap on the flow's link button is answered with a code instead.
		if r.isFlowLinkPayload(eng, in.Payload) {
			if linked, err := r.linkDuringHandoff(ctx, ts, st); linked {
				return true, st, nil, err
			}
		}
		msg := ts.turn.Messages[0]
		ticket := d.Ticket
		ts.after = append(ts.after, func(res store.TurnResult) {
			if len(res.MessageSeqs) > 0 {
				msg.Seq = res.MessageSeqs[0]
			}
			r.handoff.CustomerMessage(r.ctx, ticket, msg)
		})
		if !st.InHandoff {
			return true, st, nil, nil
		}
		next, outs, err := eng.Step(ctx, st, in)
		if err != nil {
			return true, st, nil, r.engineFailed(ctx, ts, err)
		}
		return true, st, nil, r.applyEngine(ctx, ts, next, outs)
	case handoff.OwnerCSAT:
		// The message answered the satisfaction question: it is recorded
		// (Change), the customer thanked (Notices), and the flow continues
		// at its resume point.
		next, outs, err := eng.Resume(ctx, st, flows.Input{Channel: in.Channel, Now: in.Now, Contact: in.Contact})
		if err != nil {
			return true, st, nil, r.engineFailed(ctx, ts, err)
		}
		return true, st, nil, r.applyEngine(ctx, ts, next, outs)
	default:
		if !d.Resume {
			return false, st, nil, nil
		}
		// The ticket is over but the flow may still be parked in the
		// handoff: resume it, then the message goes through the flow.
		next, outs, err := eng.Resume(ctx, st, flows.Input{Channel: in.Channel, Now: in.Now, Contact: in.Contact})
		if err != nil {
			return true, st, nil, r.engineFailed(ctx, ts, err)
		}
		return false, next, outs, nil
	}
}

func (r *Runtime) sayNotices(ts *turnState, notices []handoff.Notice) {
	for _, n := range notices {
		var btns []flows.Button
		for _, b := range n.Buttons {
			btns = append(btns, flows.Button{Text: b.Text, Value: b.Value})
		}
		r.say(ts, n.Text, btns, "", "", "")
	}
}

// escalate opens a ticket for a flow's handoff in the same turn.
func (r *Runtime) escalate(ctx context.Context, ts *turnState, h *flows.HandoffRequest) error {
	if h == nil {
		return nil
	}
	ts.turn.Events = append(ts.turn.Events, store.Event{
		At: r.now(), ContactID: ts.turn.ContactID, Type: "handoff_requested",
		Data: map[string]string{"reason": h.Reason, "priority": h.Priority},
	})
	if r.handoff == nil {
		return nil
	}
	// The queue speaks the conversation's language: the customer's current
	// one, which may not be what their channel reports.
	lang := ts.lang
	if lang == "" {
		lang = ts.contact.Lang
	}
	t, notices, err := r.handoff.Escalate(ctx, handoff.Request{
		ContactID: ts.turn.ContactID, Address: ts.addr.String(), Lang: lang,
		Reason: h.Reason, Priority: h.Priority, Note: h.Note, ResumeNode: h.ResumeNode,
		Evidence: h.Evidence, Vars: h.Vars,
	})
	if err != nil {
		return fmt.Errorf("escalate: %w", err)
	}
	ts.turn.OpenTicket = &t
	r.sayNotices(ts, notices)
	ts.after = append(ts.after, func(res store.TurnResult) {
		if res.TicketID == 0 {
			return // joined an already open ticket
		}
		t.ID = res.TicketID
		r.handoff.Opened(r.ctx, t)
	})
	return nil
}

// Deliver implements handoff.Deliverer: an agent's (or the queue's) message
// to the customer, written to the history and the outbox in one turn
// together with the ticket change that goes with it.
//
// The address must be one of the contact's channels now: the queue picks
// the one the customer wrote from last (or the agent another), and a
// channel an undone link gave back to another person is refused here too,
// so a message never reaches someone else.
func (r *Runtime) Deliver(ctx context.Context, d handoff.Delivery) error {
	addr, err := channel.ParseAddress(d.Address)
	if d.Address == "" || err != nil {
		if addr, err = r.replyAddress(d.ContactID); err != nil {
			return err
		}
	}
	c, err := r.db.Contact(d.ContactID)
	if err != nil {
		return err
	}
	if !slices.Contains(c.Identities, addr.String()) {
		return fmt.Errorf("deliver to %s: not a channel of contact %s (%s): %w",
			addr, c.ID, strings.Join(c.Identities, ", "), store.ErrConflict)
	}
	ts := &turnState{turn: store.Turn{ContactID: d.ContactID, UpdateTicket: d.Ticket}, contact: c, addr: addr, inEvent: -1}
	var btns []flows.Button
	for _, b := range d.Buttons {
		btns = append(btns, flows.Button{Text: b.Text, Value: b.Value})
	}
	if len(d.Files) > 0 {
		files, err := r.deliveryFiles(c.ID, d.Files)
		if err != nil {
			return err
		}
		r.sayFiles(ts, d.Text, files, d.SenderID, d.SenderName)
		return r.commit(ctx, ts)
	}
	r.say(ts, d.Text, btns, "", d.SenderID, d.SenderName)
	return r.commit(ctx, ts)
}

// History returns a channel identity's conversation, oldest first: the web
// chat shows it on reload.
func (r *Runtime) History(ctx context.Context, addr channel.Address, limit int) ([]store.Message, error) {
	c, err := r.contactByAddress(addr)
	if err != nil {
		return nil, err
	}
	return r.db.LastMessages(c.ID, limit)
}

func (r *Runtime) contactByAddress(addr channel.Address) (store.Contact, error) {
	return r.db.ContactByIdentity(addr.String())
}
