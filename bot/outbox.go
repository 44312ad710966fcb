package bot

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

// outbox delivers stored replies: in order per address, addresses in
// parallel, waiting out retry_after and backing off on failures. An entry
// leaves the store only once its channel accepted it.
type outbox struct {
	r     *Runtime
	sem   *slots
	mu    sync.Mutex
	queue map[string][]queued // by address, in ID order
	wg    sync.WaitGroup
	// Delivered entries are removed in batches: one write per batch, by
	// one goroutine that runs while removals are waiting (removals tracks it).
	// remDone is closed when the batch collecting in remIDs is durable.
	removals sync.WaitGroup
	remMu    sync.Mutex
	remIDs   []uint64
	remDone  chan struct{}
	remBusy  bool
}

func newOutbox(r *Runtime) *outbox {
	return &outbox{r: r, sem: &slots{free: r.cfg.SendWorkers}, queue: make(map[string][]queued)}
}

// slots bounds the sends in progress (SendWorkers). A turn's first reply
// takes the next free slot before follow-ups and resumed entries: a channel
// that waits out its rate limit inside Send (Telegram) holds slots, and a
// customer who just wrote should not queue behind other chats' backlog
// before even reaching the channel's own limiter, which orders the same way.
type slots struct {
	mu      sync.Mutex
	free    int
	waiting [2][]chan struct{} // [0]: first replies, [1]: the rest
}

func (s *slots) acquire(first bool) {
	s.mu.Lock()
	if s.free > 0 {
		s.free-- // no one waits while a slot is free: release hands it over
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	class := 1
	if first {
		class = 0
	}
	s.waiting[class] = append(s.waiting[class], ch)
	s.mu.Unlock()
	<-ch
}

func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, q := range s.waiting {
		if len(q) > 0 {
			ch := q[0]
			q[0] = nil
			s.waiting[c] = q[1:]
			close(ch) // the slot passes to the waiter
			return
		}
	}
	s.free++
}

// repeatsShow reports whether a reply sent twice to addr shows twice, so
// that the next reply must wait until the previous one's removal is durable
// (see drain). Not on VK, which drops a repeated random_id (derived from the
// entry's id), nor on the web chat, whose replies skip the outbox in
// production (history-synced) and whose widget shows each message once.
func repeatsShow(addr string) bool {
	ch, _, _ := strings.Cut(addr, ":")
	return channel.Name(ch) != channel.VK && channel.Name(ch) != channel.Web
}

// queued is an entry waiting for delivery; out is its message when the
// turn that produced it is still at hand, so it need not be decoded again.
type queued struct {
	store.OutboxEntry
	out   *channel.Outbound
	first bool // the first reply of a turn just committed
}

func (o *outbox) push(entries ...store.OutboxEntry) { o.pushDecoded(entries, nil) }

// pushDecoded queues entries; outs, when not nil, are their messages.
func (o *outbox) pushDecoded(entries []store.OutboxEntry, outs []channel.Outbound) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, e := range entries {
		it := queued{OutboxEntry: e, first: i == 0 && outs != nil}
		if i < len(outs) {
			it.out = &outs[i]
		}
		q, busy := o.queue[e.Address]
		o.queue[e.Address] = append(q, it)
		if !busy {
			o.wg.Add(1)
			go o.drain(e.Address)
		}
	}
}

func (o *outbox) depth() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, q := range o.queue {
		n += len(q)
	}
	return n
}

// readyDepth counts entries due by now (not waiting out a backoff).
func (o *outbox) readyDepth(now time.Time) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, q := range o.queue {
		if len(q) > 0 && !q[0].NotBefore.After(now) {
			n += len(q)
		}
	}
	return n
}

func (o *outbox) wait() {
	o.wg.Wait()
	o.removals.Wait()
}

func (o *outbox) drain(addr string) {
	defer o.wg.Done()
	ctx := o.r.ctx
	for {
		o.mu.Lock()
		q := o.queue[addr]
		if len(q) == 0 || ctx.Err() != nil {
			delete(o.queue, addr)
			o.mu.Unlock()
			return
		}
		it := q[0]
		e := it.OutboxEntry
		o.mu.Unlock()

		if wait := e.NotBefore.Sub(o.r.now()); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				continue
			case <-t.C:
			}
		}
		next, done, removed := o.attempt(ctx, e, it.out, it.first)
		if removed != nil && repeatsShow(addr) {
			// The address's next reply waits until this one is durably gone
			// from the outbox, so a crash resends at most the one reply per
			// address that was in flight (Telegram has no idempotency key).
			// Other addresses go on meanwhile and share the write.
			<-removed
		}
		o.mu.Lock()
		if done {
			o.queue[addr][0] = queued{}
			o.queue[addr] = o.queue[addr][1:]
		} else {
			o.queue[addr][0].OutboxEntry = next
			o.queue[addr][0].first = false // a retry is no one's fresh answer
		}
		o.mu.Unlock()
	}
}

// textJoiner is implemented by channels on which a turn's consecutive texts
// may go as one message (Telegram). Others get every text as it was said.
type textJoiner interface{ JoinsTexts() bool }

// queueOutbound adds a reply to the turn's outbox. On a channel that allows
// it (textJoiner), a text that follows another of the same turn to the same
// address joins it as one message (a blank line between, the buttons of the
// later one) when the earlier one has no buttons, the later no image, both
// have the same sender and together they fit the channel's limit. A turn's
// answer and the question after it
// ("Могу ещё чем-то помочь?" with buttons) then take one send of the chat's
// and the bot's rate instead of two: Telegram allows about 30 a second for
// all chats, and a backlog there delays everyone's first reply. The history
// keeps the two messages apart; history-synced channels never get here.
func (r *Runtime) queueOutbound(ts *turnState, ob channel.Outbound, now time.Time) {
	if j, ok := r.senders[ob.To.Channel].(textJoiner); ok && j.JoinsTexts() && len(ts.outbound) > 0 {
		n := len(ts.outbound)
		if joined, ok := joinTexts(ts.outbound[n-1], ob, r.maxText(ob.To.Channel)); ok {
			ts.outbound[n-1] = joined
			ts.turn.Outbox[n-1].Data, _ = json.Marshal(joined)
			return
		}
	}
	data, _ := json.Marshal(ob)
	ts.outbound = append(ts.outbound, ob)
	ts.turn.Outbox = append(ts.turn.Outbox, store.OutboxEntry{
		ContactID: ts.turn.ContactID, Address: ob.To.String(), Data: data, CreatedAt: now, NotBefore: now,
	})
}

// joinTexts returns a and b as one message, if they can be one: see
// queueOutbound. max is the channel's limit in runes.
func joinTexts(a, b channel.Outbound, max int) (channel.Outbound, bool) {
	if a.To != b.To || a.Sender != b.Sender || len(a.Buttons) > 0 || b.Image != "" || len(a.Files)+len(b.Files) > 0 ||
		strings.TrimSpace(a.Text) == "" || strings.TrimSpace(b.Text) == "" {
		return a, false
	}
	if utf8.RuneCountInString(a.Text)+2+utf8.RuneCountInString(b.Text) > max {
		return a, false
	}
	a.Text += "\n\n" + b.Text
	a.Buttons = b.Buttons
	return a, true
}

// attempt sends e once. It reports done when the entry left the outbox
// (delivered or given up), or the entry rescheduled for its next try. For a
// delivered entry, removed is closed once its removal is durable.
func (o *outbox) attempt(ctx context.Context, e store.OutboxEntry, decoded *channel.Outbound, first bool) (next store.OutboxEntry, done bool, removed <-chan struct{}) {
	r := o.r
	// Built only on the paths that log: a delivered reply logs nothing.
	logger := func() *zerolog.Logger {
		l := r.log.With().Uint64("outbox_id", e.ID).Str("contact", e.ContactID).Logger()
		return &l
	}
	var out channel.Outbound
	if decoded != nil {
		out = *decoded
	} else if err := json.Unmarshal(e.Data, &out); err != nil {
		logger().Error().Err(err).Msg("undecodable outbox entry dropped")
		o.drop(ctx, e, "undecodable: "+err.Error())
		return e, true, nil
	}
	out.Key = "out-" + strconv.FormatUint(e.ID, 10)
	if err := r.loadFileData(&out); err != nil && channel.IsPermanent(err) {
		logger().Warn().Err(err).Msg("reply's file is gone; dropped")
		o.drop(ctx, e, err.Error())
		return e, true, nil
	} else if err != nil {
		return o.reschedule(ctx, e, e.Attempts+1, backoff(r.cfg.RetryBase, e.Attempts+1)), false, nil
	}
	sender, ok := r.senders[out.To.Channel]
	if !ok {
		// The channel is not configured in this run (token removed?): keep
		// the reply for a run that has it.
		logger().Warn().Str("channel", string(out.To.Channel)).Msg("no sender for channel; reply kept")
		return o.reschedule(ctx, e, e.Attempts, time.Minute), false, nil
	}

	o.sem.acquire(first)
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := sender.Send(sendCtx, out)
	cancel()
	o.sem.release()

	ch := string(out.To.Channel)
	if err != nil && ctx.Err() != nil {
		// Shutting down, not a failure of the channel: the entry stays as it
		// is for the next start.
		return e, false, nil
	}
	switch {
	case err == nil:
		r.metrics.sent(ch)
		// Removals from all conversations share group commits; only this
		// address's next reply waits for this one (drain). A crash before it
		// lands sends the reply again: VK drops the repeat by its random_id,
		// Telegram shows it twice.
		return e, true, o.remove(e.ID)
	case channel.IsPermanent(err):
		r.metrics.sendError(ch, "permanent")
		logger().Warn().Err(err).Msg("reply refused by the channel; dropped")
		o.drop(ctx, e, err.Error())
		return e, true, nil
	}
	attempts := e.Attempts + 1
	if attempts >= r.cfg.MaxAttempts {
		r.metrics.sendError(ch, "temporary")
		logger().Error().Err(err).Int("attempts", attempts).Msg("reply undeliverable; dropped")
		o.drop(ctx, e, err.Error())
		return e, true, nil
	}
	if after, ok := channel.RetryAfter(err); ok {
		r.metrics.sendError(ch, "retry_after")
		logger().Info().Dur("retry_after", after).Msg("channel asked to wait")
		return o.reschedule(ctx, e, attempts, after), false, nil
	}
	r.metrics.sendError(ch, "temporary")
	delay := backoff(r.cfg.RetryBase, attempts)
	logger().Warn().Err(err).Int("attempt", attempts).Dur("retry_in", delay).Msg("send failed")
	return o.reschedule(ctx, e, attempts, delay), false, nil
}

// remove queues a delivered entry's removal and returns a channel closed
// when it is durable (or failed: it is logged, and the next start sends the
// reply again). Removals from all conversations collect while the previous
// batch is being written, so under load one write removes many.
func (o *outbox) remove(id uint64) <-chan struct{} {
	o.remMu.Lock()
	defer o.remMu.Unlock()
	o.remIDs = append(o.remIDs, id)
	if o.remDone == nil {
		o.remDone = make(chan struct{}) // one per batch, not per entry
	}
	done := o.remDone
	if !o.remBusy {
		o.remBusy = true
		o.removals.Add(1)
		go o.flushRemovals()
	}
	return done
}

func (o *outbox) flushRemovals() {
	defer o.removals.Done()
	for {
		o.remMu.Lock()
		ids, done := o.remIDs, o.remDone
		o.remIDs, o.remDone = nil, nil
		if len(ids) == 0 {
			o.remBusy = false
			o.remMu.Unlock()
			return
		}
		o.remMu.Unlock()
		if _, err := o.r.db.DeleteOutboxes(context.Background(), ids...); err != nil {
			// The replies were delivered; the next start sends them again.
			o.r.log.Error().Err(err).Int("entries", len(ids)).Msg("delivered replies not removed from the outbox")
		}
		close(done)
	}
}

func (o *outbox) reschedule(ctx context.Context, e store.OutboxEntry, attempts int, after time.Duration) store.OutboxEntry {
	e.Attempts = attempts
	e.NotBefore = o.r.now().Add(after)
	if err := o.r.db.RescheduleOutbox(context.WithoutCancel(ctx), e.ID, e.Attempts, e.NotBefore); err != nil {
		o.r.log.Error().Err(err).Uint64("outbox_id", e.ID).Msg("outbox reschedule not stored")
	}
	return e
}

func (o *outbox) drop(ctx context.Context, e store.OutboxEntry, why string) {
	db := o.r.db
	ctx = context.WithoutCancel(ctx)
	if err := db.AppendEvents(ctx, store.Event{At: o.r.now(), ContactID: e.ContactID, Type: "send_failed",
		Data: map[string]string{"address": e.Address, "error": why}}); err != nil {
		o.r.log.Error().Err(err).Msg("send_failed event not stored")
	}
	if err := db.DeleteOutbox(ctx, e.ID); err != nil {
		o.r.log.Error().Err(err).Uint64("outbox_id", e.ID).Msg("dropped reply not removed from the outbox")
	}
}

// backoff is exponential from base, capped at 5 minutes, with ±20% jitter so
// a platform outage does not end in a synchronised stampede.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 16)
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}
