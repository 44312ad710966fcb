package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/webchat"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// webWaiting joins the human queue and the web chat (neither imports the
// other): a visitor's widget shows their queue position, the agent who took
// the ticket and the agent typing; the agent's console shows the visitor
// typing. A contact's web identities are all their visitors, so every open
// tab of a linked customer sees the same wait.
type webWaiting struct {
	db  *store.DB
	hs  *handoff.Service
	web *webchat.Adapter
}

var (
	_ webchat.Waiting      = webWaiting{}
	_ handoff.WaitNotifier = webWaiting{}
	_ webchat.SeenReporter = webWaiting{}
)

func (w webWaiting) QueueState(ctx context.Context, v channel.Address) (webchat.QueueState, error) {
	c, err := w.db.ContactByIdentity(v.String())
	if errors.Is(err, store.ErrNotFound) {
		return webchat.QueueState{State: webchat.QueueBot}, nil // never wrote: no ticket
	}
	if err != nil {
		return webchat.QueueState{}, err
	}
	ws, err := w.hs.WaitStateFor(c.ID)
	if err != nil {
		return webchat.QueueState{}, err
	}
	return queueState(ws), nil
}

func (w webWaiting) VisitorTyping(ctx context.Context, v channel.Address) {
	if c, err := w.db.ContactByIdentity(v.String()); err == nil {
		w.hs.CustomerTyping(c.ID)
	}
}

// VisitorSeen: the visitor saw the agent's replies; the console shows it.
func (w webWaiting) VisitorSeen(ctx context.Context, v channel.Address) {
	if c, err := w.db.ContactByIdentity(v.String()); err == nil {
		w.hs.CustomerSeen(ctx, c.ID)
	}
}

func (w webWaiting) WaitChanged(ctx context.Context, ws handoff.WaitState) {
	for _, id := range w.visitors(ws.ContactID) {
		w.web.SendQueueState(ctx, id, queueState(ws))
	}
}

func (w webWaiting) AgentTyping(ctx context.Context, contactID, agent string) {
	for _, id := range w.visitors(contactID) {
		w.web.SendAgentTyping(ctx, id, agent)
	}
}

// visitors are the contact's web chat visitor ids.
func (w webWaiting) visitors(contactID string) []string {
	c, err := w.db.Contact(contactID)
	if err != nil {
		return nil // forgotten or merged away: nobody to tell
	}
	var ids []string
	for _, idn := range c.Identities {
		if id, ok := strings.CutPrefix(idn, string(channel.Web)+":"); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// queueState: the handoff's states are named as the web chat's.
func queueState(ws handoff.WaitState) webchat.QueueState {
	return webchat.QueueState{State: ws.State, Position: ws.Position, WaitMinutes: ws.WaitMinutes, Agent: ws.Agent, ReadUntil: ws.ReadAt}
}
