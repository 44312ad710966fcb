package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// turnState collects one turn's writes before they are committed together.
type turnState struct {
	turn     store.Turn
	contact  store.Contact
	addr     channel.Address
	outbound []channel.Outbound // parallel to turn.Outbox
	direct   []directReply      // replies pushed after the commit, no outbox (HistorySyncer)
	inEvent  int                // index of the message_in event, -1 if none
	lang     string             // the conversation's language after the engine's step
	sendCtx  context.Context    // job.sendCtx
	after    []func(store.TurnResult)
}

// directReply is one part of a reply for a history-synced channel.
type directReply struct {
	msg  int // index in turn.Messages
	part int // 0 for the first part of a split text
	out  channel.Outbound
}

// runJob processes one inbox entry of a contact. It runs in the contact's
// lane, so no other turn of this contact runs at the same time.
func (r *Runtime) runJob(contactID string, j job) {
	if r.ctx.Err() != nil {
		return // shutting down: the entry stays in the inbox for the next start
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := r.processJob(r.ctx, contactID, j)
		if err == nil {
			r.metrics.turnSeconds(time.Since(start).Seconds())
			return
		}
		log := r.log.With().Str("contact", contactID).Uint64("inbox_seq", j.seq).Logger()
		if errors.Is(err, store.ErrNotFound) {
			// The inbox entry is gone (this turn was committed already), or
			// the contact is: merged into another one, whose lane runs the
			// moved entries, or forgotten.
			log.Warn().Err(err).Msg("turn dropped: its inbox entry or contact is gone")
			return
		}
		if r.ctx.Err() != nil || attempt == 3 {
			// Left in the inbox: the next start processes it again.
			log.Error().Err(err).Int("attempts", attempt).Msg("turn failed; entry kept in the inbox")
			return
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg("turn failed; retrying")
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

func (r *Runtime) processJob(ctx context.Context, contactID string, j job) error {
	var c store.Contact
	if j.contact != nil {
		c = *j.contact // read a moment ago by HandleInbound, under the link lock
	} else {
		var err error
		if c, err = r.db.Contact(contactID); err != nil {
			return fmt.Errorf("load contact: %w", err)
		}
	}
	st, err := r.loadState(contactID)
	if err != nil {
		return err
	}
	ts := &turnState{turn: store.Turn{ContactID: contactID, InboxSeq: j.seq, EventKey: j.key,
		// Room for a typical turn: a message in, two out, their events.
		Messages: make([]store.Message, 0, 4), Events: make([]store.Event, 0, 8),
		Outbox: make([]store.OutboxEntry, 0, 3)}, contact: c, inEvent: -1,
		outbound: make([]channel.Outbound, 0, 3), sendCtx: j.sendCtx}
	eng := r.engine.Load()
	now := r.now()

	switch j.item.Kind {
	case kindMessage:
		in := *j.item.In
		if linked, err := r.handleLink(ctx, c, st, j, in); linked {
			return err // a link request or code is the whole turn (bot/link.go)
		}
		ts.addr = in.From
		defer r.signalTyping(in.From)()
		r.keepAttachments(ctx, ts, &in) // bot/files.go
		ts.turn.Messages = append(ts.turn.Messages, inboundMessage(contactID, in))
		ts.inEvent = len(ts.turn.Events)
		ts.turn.Events = append(ts.turn.Events, store.Event{
			At: now, ContactID: contactID, Type: "message_in", Flow: st.Flow,
			Data: map[string]string{"channel": string(in.From.Channel), "lang": langOf(st, c)},
		})
		r.noteCut(ts, j.item, st, c)
		if stop, err := r.optOut(ctx, ts, c, in, now); stop {
			if err != nil {
				return err
			}
			break // "стоп" is the whole turn (bot/trigger.go)
		}
		if j.item.Flooded {
			ts.turn.Events = append(ts.turn.Events, store.Event{At: now, ContactID: contactID, Type: "flood_limited",
				Data: map[string]string{"channel": string(in.From.Channel)}})
			break
		}
		input := flows.Input{
			Text: in.Text, Payload: in.Payload, Channel: string(in.From.Channel), Now: now,
			Contact: flowContact(c), Greeted: in.Greeted, Debug: r.cfg.Debug,
			Attachments: flowAttachments(in.Attachments),
		}
		if err := r.routeMessage(ctx, ts, eng, st, input); err != nil {
			return err
		}
	case kindResume:
		if err := r.runUnprompted(ctx, ts, c, now, func(in flows.Input) (flows.State, []flows.Output, error) {
			return eng.Resume(ctx, st, in)
		}); err != nil {
			return err
		}
	case kindTimeout:
		if dl, ok := st.WaitDeadline(); !ok || now.Before(dl) {
			break // the customer answered in time, or the node changed
		}
		if err := r.runUnprompted(ctx, ts, c, now, func(in flows.Input) (flows.State, []flows.Output, error) {
			return eng.Timeout(ctx, st, in)
		}); err != nil {
			return err
		}
	case kindTrigger:
		commit, err := r.runTrigger(ctx, ts, c, st, j, eng, now)
		if err != nil || !commit {
			return err
		}
	default:
		r.log.Error().Str("kind", j.item.Kind).Msg("unknown inbox entry kind dropped")
	}
	return r.commit(ctx, ts)
}

// runUnprompted runs an engine call that answers no customer message (a
// resume after a handoff, a wait's timeout): replies go to the channel the
// customer wrote from last.
func (r *Runtime) runUnprompted(ctx context.Context, ts *turnState, c store.Contact, now time.Time,
	run func(flows.Input) (flows.State, []flows.Output, error)) error {
	addr, err := r.replyAddress(c.ID)
	if err != nil {
		return err
	}
	ts.addr = addr
	next, outs, err := run(flows.Input{Channel: string(addr.Channel), Now: now,
		Contact: flowContact(c)})
	if err != nil {
		return r.engineFailed(ctx, ts, err)
	}
	return r.applyEngine(ctx, ts, next, outs)
}

// routeMessage decides who answers: the human queue when a ticket owns the
// conversation, otherwise the flow engine.
func (r *Runtime) routeMessage(ctx context.Context, ts *turnState, eng *flows.Engine, st flows.State, in flows.Input) error {
	var pre []flows.Output
	if r.handoff != nil {
		handled, resumed, outs, err := r.routeHandoff(ctx, ts, eng, st, in)
		if err != nil || handled {
			return err
		}
		st, pre = resumed, outs
	}
	// The outputs are dead once applyEngine has copied them into the turn,
	// unless an observer keeps them: only then does the engine allocate.
	var buf *flows.Buffer
	if r.cfg.Observe == nil {
		buf = outputBuffers.Get().(*flows.Buffer)
		defer outputBuffers.Put(buf)
	}
	next, outs, err := eng.StepInto(ctx, st, in, buf)
	if err != nil {
		return r.engineFailed(ctx, ts, err)
	}
	if len(pre) > 0 {
		outs = append(pre, outs...)
	}
	return r.applyEngine(ctx, ts, next, outs)
}

// outputBuffers are the engine's output buffers, one per turn in progress.
var outputBuffers = sync.Pool{New: func() any { return new(flows.Buffer) }}

// engineFailed records a turn the engine could not complete (step limit,
// expression error): the customer's message is kept, the session is left as
// it was, and the customer gets an apology instead of silence.
func (r *Runtime) engineFailed(ctx context.Context, ts *turnState, err error) error {
	r.log.Error().Err(err).Str("contact", ts.turn.ContactID).Msg("flow engine failed")
	ts.turn.Events = append(ts.turn.Events, store.Event{
		At: r.now(), ContactID: ts.turn.ContactID, Type: "error",
		Data: map[string]string{"error": err.Error()},
	})
	text := "Извините, что-то пошло не так. Попробуйте ещё раз чуть позже."
	if ts.contact.Lang == "en" {
		text = "Sorry, something went wrong. Please try again a little later."
	}
	r.say(ts, text, nil, "", "", "")
	return nil
}

// applyEngine turns the engine's outputs into the turn's writes.
func (r *Runtime) applyEngine(ctx context.Context, ts *turnState, next flows.State, outs []flows.Output) error {
	data, err := flows.MarshalState(next)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	ts.turn.Session = data
	ts.lang = next.Lang
	if ts.inEvent >= 0 && next.Lang != "" {
		// The engine detects the language on the first message: analytics
		// counts the message in the language the conversation is held in.
		ts.turn.Events[ts.inEvent].Data["lang"] = next.Lang
	}
	ts.after = append(ts.after, func(store.TurnResult) { r.scheduleTimeout(ts.turn.ContactID, next) })
	if obs := r.cfg.Observe; obs != nil {
		ts.after = append(ts.after, func(store.TurnResult) { obs(ts.turn.ContactID, outs) })
	}
	for i, o := range outs {
		switch o.Kind {
		case flows.Say:
			r.say(ts, o.Text, o.Buttons, o.Image, "", "")
		case flows.LinkCode:
			if err := r.offerLink(ctx, ts, &outs[i]); err != nil {
				return err
			}
		case flows.SetContact:
			r.setContactFields(ts, o.Fields)
		case flows.Event:
			if o.Event != nil {
				ts.turn.Events = append(ts.turn.Events, store.Event{
					At: r.now(), ContactID: ts.turn.ContactID, Type: o.Event.Name,
					Flow: o.Event.Flow, Node: o.Event.Node, Data: o.Event.Data,
				})
			}
		case flows.Handoff:
			if err := r.escalate(ctx, ts, o.Handoff); err != nil {
				return err
			}
		case flows.End:
			ts.turn.Events = append(ts.turn.Events, store.Event{
				At: r.now(), ContactID: ts.turn.ContactID, Type: "conversation_end",
			})
		}
	}
	return nil
}

func (r *Runtime) setContactFields(ts *turnState, fields map[string]string) {
	if len(fields) == 0 {
		return
	}
	c := ts.contact
	fc := flows.Contact{Name: c.Name, Lang: c.Lang, Fields: c.Fields}.With(fields)
	c.Name, c.Lang, c.Fields = fc.Name, fc.Lang, fc.Fields
	c.UpdatedAt = r.now()
	ts.contact = c
	ts.turn.Contact = &ts.contact
}

// say appends a reply to the history and to the outbox, split into parts the
// channel accepts. Buttons go with the last part, an image with the first.
func (r *Runtime) say(ts *turnState, text string, buttons []flows.Button, image, senderID, senderName string) {
	now := r.now()
	var btns []channel.Button
	var stored []store.Button
	for _, b := range buttons {
		btns = append(btns, channel.Button{Text: b.Text, Value: b.Value})
		stored = append(stored, store.Button{Text: b.Text, Value: b.Value})
	}
	sender := "bot"
	if senderID != "" {
		sender = "agent:" + senderID
	}
	ts.turn.Events = append(ts.turn.Events, store.Event{
		At: now, ContactID: ts.turn.ContactID, Type: "message_out",
		Data: map[string]string{"channel": string(ts.addr.Channel), "sender": sender},
	})
	ts.turn.Messages = append(ts.turn.Messages, store.Message{
		ContactID: ts.turn.ContactID, Dir: "out", Channel: string(ts.addr.Channel), Address: ts.addr.String(),
		Text: text, Buttons: stored, Sender: sender, SenderName: senderName, At: now,
	})
	_, direct := r.senders[ts.addr.Channel].(channel.HistorySyncer)
	for i, ob := range replyParts(text, btns, image, r.maxText(ts.addr.Channel)) {
		ob.To, ob.Sender = ts.addr, senderName
		if direct {
			ts.direct = append(ts.direct, directReply{msg: len(ts.turn.Messages) - 1, part: i, out: ob})
			continue
		}
		r.queueOutbound(ts, ob, now) // joins it to the turn's previous text where it can (bot/outbox.go)
	}
}

// pushDirect sends a committed turn's replies for history-synced channels,
// in order, from the turn's own goroutine (the contact's lane keeps them in
// order with its next turn). A failure is only logged and counted: the
// reply is in the history, which the channel shows on the next connect.
func (r *Runtime) pushDirect(sendCtx context.Context, replies []directReply, seqs []uint64) {
	if len(replies) == 0 {
		return
	}
	ctx := r.ctx
	if sendCtx != nil {
		// The values of the call being answered, the runtime's cancellation.
		ctx = context.WithoutCancel(sendCtx)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if sendCtx != nil {
		stop := context.AfterFunc(r.ctx, cancel)
		defer stop()
	}
	for _, d := range replies {
		out := d.out
		if d.msg < len(seqs) {
			out.Key = strconv.FormatUint(seqs[d.msg], 10)
			if d.part > 0 {
				out.Key += "." + strconv.Itoa(d.part+1)
			}
		}
		ch := string(out.To.Channel)
		err := r.senders[out.To.Channel].Send(ctx, out)
		if err != nil {
			r.metrics.sendError(ch, "temporary")
			r.log.Warn().Err(err).Str("address", out.To.String()).Msg("reply not pushed; the history has it")
			continue
		}
		r.metrics.sent(ch)
	}
}

func (r *Runtime) maxText(ch channel.Name) int {
	if n, ok := r.cfg.MaxText[ch]; ok {
		return n
	}
	return 4096
}

// commit writes the turn atomically, then hands its replies to the outbox
// and runs the after-commit notifications.
func (r *Runtime) commit(ctx context.Context, ts *turnState) error {
	res, err := r.db.Commit(ctx, ts.turn)
	if errors.Is(err, store.ErrTicketOpen) && ts.turn.OpenTicket != nil {
		// A ticket is already open for this contact: the flow's handoff joins it.
		r.log.Info().Str("contact", ts.turn.ContactID).Msg("handoff joins the contact's open ticket")
		ts.turn.OpenTicket = nil
		res, err = r.db.Commit(ctx, ts.turn)
	}
	if err != nil {
		return fmt.Errorf("commit turn: %w", err)
	}
	entries := make([]store.OutboxEntry, len(ts.turn.Outbox))
	for i, e := range ts.turn.Outbox {
		if i < len(res.OutboxIDs) {
			e.ID = res.OutboxIDs[i]
		}
		entries[i] = e
	}
	r.outbox.pushDecoded(entries, ts.outbound)
	r.pushDirect(ts.sendCtx, ts.direct, res.MessageSeqs)
	for _, f := range ts.after {
		f(res)
	}
	return nil
}

func (r *Runtime) loadState(contactID string) (flows.State, error) {
	var st flows.State
	data, err := r.db.Session(contactID)
	if err != nil {
		return st, fmt.Errorf("load session: %w", err)
	}
	if len(data) > 0 {
		if st, err = flows.UnmarshalState(data); err != nil {
			// A session we cannot read must not wedge the customer: start over
			// and say so in the event log.
			r.log.Error().Err(err).Str("contact", contactID).Msg("undecodable session reset")
			return flows.State{}, nil
		}
	}
	return st, nil
}

// replyAddress is where a reply that answers no inbound message goes: the
// channel the customer wrote from last among the contact's channels now
// (never one an undone link gave back), else its first channel.
func (r *Runtime) replyAddress(contactID string) (channel.Address, error) {
	addr, err := r.db.LastInboundAddress(contactID)
	if err != nil {
		return channel.Address{}, err
	}
	if addr != "" {
		return channel.ParseAddress(addr)
	}
	c, err := r.db.Contact(contactID)
	if err != nil {
		return channel.Address{}, err
	}
	if len(c.Identities) == 0 {
		return channel.Address{}, fmt.Errorf("contact %s has no channel identity", contactID)
	}
	return channel.ParseAddress(c.Identities[0])
}

// replyParts is one reply as a channel takes it: the text split at max
// runes, the image with the first part and the buttons with the last. The
// parts have no address and no sender.
func replyParts(text string, btns []channel.Button, image string, max int) []channel.Outbound {
	parts := splitText(text, max)
	out := make([]channel.Outbound, len(parts))
	for i, p := range parts {
		out[i] = channel.Outbound{Text: p}
		if i == 0 {
			out[i].Image = image
		}
		if i == len(parts)-1 {
			out[i].Buttons = btns
		}
	}
	return out
}

// signalTyping sends the typing signal if the turn is still running after
// TypingDelay; the returned func, called when the turn ends, cancels it.
func (r *Runtime) signalTyping(to channel.Address) (stop func()) {
	if !r.cfg.Typing[to.Channel] {
		return func() {}
	}
	ts, ok := r.senders[to.Channel].(channel.TypingSender)
	if !ok {
		return func() {}
	}
	var over atomic.Bool
	t := time.AfterFunc(r.cfg.TypingDelay, func() {
		if over.Load() {
			return // lost the race with the turn's end: the replies are out
		}
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		defer cancel()
		_ = ts.SendTyping(ctx, to) // best effort: a lost typing signal harms nobody
	})
	return func() {
		over.Store(true)
		t.Stop()
	}
}

func inboundMessage(contactID string, in channel.Inbound) store.Message {
	m := store.Message{
		ContactID: contactID, Dir: "in", Channel: string(in.From.Channel), Address: in.From.String(),
		Text: in.Text, Payload: in.Payload, Sender: "customer", SenderName: in.Name, At: in.At,
	}
	for _, a := range in.Attachments {
		ref := a.Kind + ":" + a.URL
		if a.Name != "" {
			ref += " (" + a.Name + ")"
		}
		m.Attachments = append(m.Attachments, ref)
	}
	return m
}

// langOf is the conversation's language for analytics: the session's, else
// the contact's.
func langOf(st flows.State, c store.Contact) string {
	if st.Lang != "" {
		return st.Lang
	}
	return c.Lang
}

func flowContact(c store.Contact) flows.Contact {
	return flows.Contact{ID: c.ID, Name: c.Name, Lang: c.Lang, Fields: c.Fields}
}
