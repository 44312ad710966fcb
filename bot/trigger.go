package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// Triggers: a flow started for a contact from outside (the outbound API),
// not in answer to a message. A trigger is recorded durably in the inbox
// (with its idempotency key, in the same write) and runs in the contact's
// lane like a message, so it never overlaps a turn of the same contact.
// It never barges in: while an agent owns the conversation, or the bot
// waits for the customer's answer to a question asked within TriggerIdle,
// it is dropped or parked (trigger_wait) as the caller asked, and a
// sweeper releases parked ones once the conversation is free.

// TriggerRequest starts Flow for a contact.
type TriggerRequest struct {
	// ID names the trigger in events and reports; Trigger assigns one when
	// empty.
	ID        string
	ContactID string
	Flow      string
	Params    map[string]any
	// Wait parks the trigger while the conversation is busy; otherwise a
	// busy conversation refuses it (*BusyError).
	Wait bool
	// Transactional messages (an order shipped) go to contacts who opted
	// out of marketing too.
	Transactional bool
	// Channel, when set, picks the contact's identity on that channel
	// ("email") instead of the preferred one.
	Channel string
	// Cascade, when set, tries its channels in order (bot/cascade.go);
	// Channel is then ignored.
	Cascade []CascadeStep
	// IdempotencyKey, when set, makes a retried request start once: the
	// first result is recorded with it, a retry with the same BodyHash gets
	// that result, one with another gets ErrIdempotencyConflict.
	IdempotencyKey string
	BodyHash       string
}

// TriggerResult is what Trigger did.
type TriggerResult struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // "queued": it runs now; "waiting": parked until the conversation is free
	Channel string `json:"channel"`
	// Cascade is the cascade's id when the request had one (the first
	// step's trigger id).
	Cascade string `json:"cascade,omitempty"`
	// Replayed: the result of an earlier request with the same idempotency key.
	Replayed bool `json:"-"`
}

// Trigger statuses.
const (
	TriggerQueued  = "queued"
	TriggerWaiting = "waiting"
)

// Errors of Trigger.
var (
	ErrOptedOut            = errors.New("contact opted out of marketing on this channel")
	ErrNoChannel           = errors.New("contact has no channel Parley can send to")
	ErrIdempotencyConflict = errors.New("idempotency key already used with another request body")
)

// BusyError says why a conversation cannot take a trigger now.
type BusyError struct{ Reason string }

func (e *BusyError) Error() string { return "conversation busy: " + e.Reason }

// triggerStore is what triggers and consent need beyond Store.
type triggerStore interface {
	EnqueueTrigger(ctx context.Context, e store.TriggerEntry) (uint64, *store.Idempotent, error)
	Idempotency(key string) (store.Idempotent, bool, error)
	WaitingTriggers() ([]store.WaitingTrigger, error)
	ReleaseTrigger(ctx context.Context, contactID string, seq uint64) (store.InboxEntry, error)
	ParkTrigger(ctx context.Context, inboxSeq uint64, contactID string, data []byte) error
	OptedOut(contactID, channel string) (bool, error)
	SetConsent(ctx context.Context, contactID, channel string, optedOut bool, source string) (bool, error)
	OpenTicketFor(contactID string) (store.Ticket, bool, error)
}

// triggerItem is a trigger as the inbox keeps it.
type triggerItem struct {
	ID            string         `json:"id"`
	Flow          string         `json:"flow"`
	Params        map[string]any `json:"params,omitempty"`
	Wait          bool           `json:"wait,omitempty"`
	Transactional bool           `json:"transactional,omitempty"`
	Channel       string         `json:"channel,omitempty"`
}

const kindTrigger = "trigger"

func (r *Runtime) triggerStore() (triggerStore, error) {
	ts, ok := r.db.(triggerStore)
	if !ok {
		return nil, errors.New("bot: this store does not keep triggers")
	}
	return ts, nil
}

func newTriggerID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// Trigger records a trigger durably and queues it in the contact's lane
// (or parks it). Errors: flows.ErrUnknownFlow, store.ErrNotFound (contact),
// ErrNoChannel, ErrOptedOut, *BusyError, ErrIdempotencyConflict.
func (r *Runtime) Trigger(ctx context.Context, req TriggerRequest) (TriggerResult, error) {
	if r.stopping.Load() {
		return TriggerResult{}, ErrStopping
	}
	tstore, err := r.triggerStore()
	if err != nil {
		return TriggerResult{}, err
	}
	if req.IdempotencyKey != "" {
		rec, ok, err := tstore.Idempotency(req.IdempotencyKey)
		if err != nil {
			return TriggerResult{}, err
		}
		if ok {
			return replayTrigger(rec, req)
		}
	}
	if !r.engine.Load().HasFlow(req.Flow) {
		return TriggerResult{}, fmt.Errorf("%w %q", flows.ErrUnknownFlow, req.Flow)
	}
	// A link moves inbox entries between contacts; none is recorded meanwhile.
	r.linkMu.RLock()
	defer r.linkMu.RUnlock()
	c, err := r.db.Contact(req.ContactID)
	if err != nil {
		return TriggerResult{}, err
	}
	var cascade *Cascade
	if len(req.Cascade) > 0 {
		cascade = &Cascade{ContactID: c.ID, Flow: req.Flow, Params: req.Params, Transactional: req.Transactional,
			Steps: req.Cascade, Status: CascadeRunning, StepAt: r.now()}
		i, err := r.nextStep(cascade, c, tstore, 0, cascade.StepAt)
		if i < 0 {
			return TriggerResult{}, err
		}
		cascade.Step, req.Channel = i, req.Cascade[i].Channel
	}
	addr, err := r.outboundAddress(c, req.Channel)
	if err != nil {
		return TriggerResult{}, err
	}
	if !req.Transactional {
		out, err := tstore.OptedOut(c.ID, string(addr.Channel))
		if err != nil {
			return TriggerResult{}, err
		}
		if out {
			return TriggerResult{}, ErrOptedOut
		}
	}
	st, err := r.loadState(c.ID)
	if err != nil {
		return TriggerResult{}, err
	}
	reason, err := r.busyReason(tstore, c.ID, st)
	if err != nil {
		return TriggerResult{}, err
	}
	if reason != "" && !req.Wait {
		return TriggerResult{}, &BusyError{Reason: reason}
	}
	if req.ID == "" {
		req.ID = newTriggerID()
	}
	res := TriggerResult{ID: req.ID, Status: TriggerQueued, Channel: string(addr.Channel)}
	if cascade != nil {
		res.Cascade = req.ID
	}
	if reason != "" {
		res.Status = TriggerWaiting
	}
	item := inboxItem{Kind: kindTrigger, Trigger: &triggerItem{ID: req.ID, Flow: req.Flow, Params: req.Params,
		Wait: req.Wait, Transactional: req.Transactional, Channel: req.Channel}}
	data, err := json.Marshal(item)
	if err != nil {
		return TriggerResult{}, fmt.Errorf("bot: encode trigger: %w", err)
	}
	entry := store.TriggerEntry{ContactID: c.ID, Data: data, Park: reason != ""}
	if cascade != nil {
		ch := req.Cascade[cascade.Step].Channel
		cascade.ID = req.ID
		cascade.Sent = append(cascade.Sent, CascadeSent{Step: cascade.Step, Channel: ch, Trigger: req.ID, Cost: r.cost(ch), At: cascade.StepAt})
		cascade.Spent, cascade.AllAtOnce = r.cost(ch), r.allAtOnce(cascade, c)
		if entry.Cascade, err = json.Marshal(cascade); err != nil {
			return TriggerResult{}, err
		}
		entry.CascadeID = req.ID
	}
	if req.IdempotencyKey != "" {
		result, _ := json.Marshal(res)
		entry.Idem = &store.Idempotent{Key: req.IdempotencyKey, BodyHash: req.BodyHash, Result: result}
	}
	seq, prior, err := tstore.EnqueueTrigger(ctx, entry)
	if err != nil {
		return TriggerResult{}, fmt.Errorf("bot: record trigger: %w", err)
	}
	if prior != nil {
		return replayTrigger(*prior, req) // a concurrent retry won the race
	}
	if reason == "" {
		r.turns.push(c.ID, job{seq: seq, item: item})
	}
	r.log.Info().Str("trigger", req.ID).Str("contact", c.ID).Str("flow", req.Flow).Str("status", res.Status).Msg("trigger recorded")
	return res, nil
}

func replayTrigger(rec store.Idempotent, req TriggerRequest) (TriggerResult, error) {
	if rec.BodyHash != req.BodyHash {
		return TriggerResult{}, ErrIdempotencyConflict
	}
	var res TriggerResult
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		return TriggerResult{}, fmt.Errorf("bot: stored trigger result: %w", err)
	}
	res.Replayed = true
	return res, nil
}

// outboundAddress is where a message nobody asked for goes: the channel
// the customer wrote from last, if Parley can send there, else the first
// of the contact's identities it can send to; only ones on only, when set.
func (r *Runtime) outboundAddress(c store.Contact, only string) (channel.Address, error) {
	usable := func(a channel.Address) bool {
		return r.senders[a.Channel] != nil && (only == "" || string(a.Channel) == only)
	}
	last, err := r.db.LastInboundAddress(c.ID)
	if err != nil {
		return channel.Address{}, err
	}
	if a, err := channel.ParseAddress(last); err == nil && usable(a) {
		return a, nil
	}
	for _, id := range c.Identities {
		if a, err := channel.ParseAddress(id); err == nil && usable(a) {
			return a, nil
		}
	}
	return channel.Address{}, ErrNoChannel
}

// busyReason says why the conversation must not be interrupted now, "" when
// it may be.
func (r *Runtime) busyReason(tstore triggerStore, contactID string, st flows.State) (string, error) {
	if _, open, err := tstore.OpenTicketFor(contactID); err != nil {
		return "", err
	} else if open || st.InHandoff {
		return "an agent has the conversation", nil
	}
	if st.Waiting && !st.Ended {
		last, err := r.db.LastMessages(contactID, 1)
		if err != nil {
			return "", err
		}
		if len(last) == 1 && r.now().Sub(last[0].At) < r.cfg.TriggerIdle {
			return "the bot is waiting for the customer's answer", nil
		}
	}
	return "", nil
}

// runTrigger is a trigger's turn. commit is false when the trigger was
// parked again (its inbox entry moved; there is no turn to commit).
func (r *Runtime) runTrigger(ctx context.Context, ts *turnState, c store.Contact, st flows.State, j job, eng *flows.Engine, now time.Time) (commit bool, err error) {
	tr := j.item.Trigger
	if tr == nil {
		r.log.Error().Uint64("inbox_seq", j.seq).Msg("trigger entry without a trigger dropped")
		return true, nil
	}
	tstore, err := r.triggerStore()
	if err != nil {
		return false, err
	}
	event := func(typ string, data map[string]string) {
		r.metrics.trigger(strings.TrimPrefix(typ, "trigger_"))
		d := map[string]string{"trigger": tr.ID, "flow": tr.Flow}
		for k, v := range data {
			d[k] = v
		}
		ts.turn.Events = append(ts.turn.Events, store.Event{At: now, ContactID: c.ID, Type: typ, Flow: tr.Flow, Data: d})
	}
	reason, err := r.busyReason(tstore, c.ID, st)
	if err != nil {
		return false, err
	}
	if reason != "" {
		if tr.Wait && j.seq > 0 {
			data, err := json.Marshal(j.item)
			if err != nil {
				return false, err
			}
			if err := tstore.ParkTrigger(ctx, j.seq, c.ID, data); err != nil {
				return false, fmt.Errorf("park trigger: %w", err)
			}
			r.metrics.trigger("parked")
			return false, nil
		}
		event("trigger_dropped", map[string]string{"reason": reason})
		return true, nil
	}
	addr, err := r.outboundAddress(c, tr.Channel)
	if err != nil {
		event("trigger_failed", map[string]string{"reason": err.Error()})
		return true, nil
	}
	if !tr.Transactional {
		out, err := tstore.OptedOut(c.ID, string(addr.Channel))
		if err != nil {
			return false, err
		}
		if out {
			event("trigger_dropped", map[string]string{"reason": "opted out", "channel": string(addr.Channel)})
			return true, nil
		}
	}
	ts.addr = addr
	next, outs, err := eng.Step(ctx, st, flows.Input{Trigger: &flows.Trigger{Flow: tr.Flow, Params: tr.Params},
		Channel: string(addr.Channel), Now: now, Contact: flowContact(c)})
	if err != nil {
		// The flow went away in a reload, or failed: the customer, who asked
		// nothing, gets no apology; the event says what happened.
		event("trigger_failed", map[string]string{"reason": err.Error()})
		return true, nil
	}
	kind := "marketing"
	if tr.Transactional {
		kind = "transactional"
	}
	event("trigger_started", map[string]string{"channel": string(addr.Channel), "kind": kind})
	if err := r.applyEngine(ctx, ts, next, outs); err != nil {
		return false, err
	}
	if !tr.Transactional && addr.Channel == channel.Email && r.cfg.UnsubscribeLink != nil {
		// Every marketing mail carries its way out (e-mail has no "стоп").
		link := r.cfg.UnsubscribeLink(c.ID, string(addr.Channel))
		for i := range ts.outbound {
			ts.outbound[i].Unsubscribe = link
			ts.turn.Outbox[i].Data, _ = json.Marshal(ts.outbound[i])
		}
	}
	return true, nil
}

// sweepTriggers releases parked triggers whose conversation is free now,
// the oldest of each contact, into its lane.
func (r *Runtime) sweepTriggers(ctx context.Context) error {
	tstore, err := r.triggerStore()
	if err != nil {
		return nil // a store without triggers parks none
	}
	waiting, err := tstore.WaitingTriggers()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, w := range waiting {
		if seen[w.ContactID] {
			continue
		}
		seen[w.ContactID] = true
		st, err := r.loadState(w.ContactID)
		if err != nil {
			return err
		}
		if reason, err := r.busyReason(tstore, w.ContactID, st); err != nil || reason != "" {
			continue
		}
		r.linkMu.RLock()
		in, err := tstore.ReleaseTrigger(ctx, w.ContactID, w.Seq)
		if err == nil {
			var item inboxItem
			if err = json.Unmarshal(in.Data, &item); err == nil {
				r.turns.push(w.ContactID, job{seq: in.Seq, item: item})
			}
		}
		r.linkMu.RUnlock()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// IdempotencyRetention is how long an Idempotency-Key is remembered: a
// retry within it gets the first answer, one after it starts again.
const IdempotencyRetention = 24 * time.Hour

// idempotencyPruner forgets old idempotency keys; *store.DB has it.
type idempotencyPruner interface {
	PruneIdempotency(ctx context.Context, before time.Time) (int, error)
}

// runSweeper sweeps parked triggers and cascades every TriggerSweep, and
// old idempotency keys hourly, until shutdown.
func (r *Runtime) runSweeper() {
	t := time.NewTicker(r.cfg.TriggerSweep)
	defer t.Stop()
	var pruned time.Time
	for {
		if p, ok := r.db.(idempotencyPruner); ok && r.now().Sub(pruned) >= time.Hour {
			pruned = r.now()
			if _, err := p.PruneIdempotency(r.ctx, pruned.Add(-IdempotencyRetention)); err != nil && r.ctx.Err() == nil {
				r.log.Warn().Err(err).Msg("old idempotency keys not pruned")
			}
		}
		if err := r.sweepTriggers(r.ctx); err != nil && r.ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("parked triggers not swept")
		}
		if err := r.sweepCascades(r.ctx); err != nil && r.ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("cascades not swept")
		}
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopWords are the commands that opt a customer out of marketing on the
// channel they write from: the whole message, not a word in a sentence.
var stopWords = map[string]bool{"стоп": true, "stop": true, "отписаться": true, "отписка": true,
	"unsubscribe": true, "отписаться от рассылки": true}

// isStopCommand reports whether text is an opt-out command ("Стоп!",
// "/stop", " unsubscribe ").
func isStopCommand(text string) bool {
	s := strings.ToLower(strings.TrimSpace(text))
	s = strings.TrimPrefix(s, "/")
	s = strings.TrimRight(s, ".!")
	return len(s) <= 40 && stopWords[strings.TrimSpace(s)]
}

// optOut records a stop command's opt-out and says so once: the message is
// the whole turn (the flow does not see it).
func (r *Runtime) optOut(ctx context.Context, ts *turnState, c store.Contact, in channel.Inbound, now time.Time) (bool, error) {
	if in.Payload != "" || !isStopCommand(in.Text) {
		return false, nil
	}
	tstore, err := r.triggerStore()
	if err != nil {
		return false, nil // no consent kept: the message goes to the flow
	}
	if _, err := tstore.SetConsent(ctx, c.ID, string(in.From.Channel), true, "message"); err != nil {
		return true, fmt.Errorf("record opt-out: %w", err)
	}
	ts.turn.Events = append(ts.turn.Events, store.Event{At: now, ContactID: c.ID, Type: "opted_out",
		Data: map[string]string{"channel": string(in.From.Channel), "source": "message"}})
	text := "Вы отписались от рассылок в этом канале. Сообщения о ваших заказах будут приходить по-прежнему."
	if c.Lang == "en" || c.Lang == "" && strings.HasPrefix(strings.ToLower(in.Lang), "en") {
		text = "You are unsubscribed from promotions in this channel. Messages about your orders will still come."
	}
	r.say(ts, text, nil, "", "", "")
	return true, nil
}
