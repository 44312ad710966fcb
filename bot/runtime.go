package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// Store is what the runtime needs from persistence.
type Store interface {
	ResolveContact(ctx context.Context, identity, name, lang string) (store.Contact, bool, error)
	Contact(id string) (store.Contact, error)
	ContactByIdentity(identity string) (store.Contact, error)
	Enqueue(ctx context.Context, contactID, eventKey string, data []byte) (uint64, bool, error)
	PendingInbox() ([]store.InboxEntry, error)
	Session(contactID string) ([]byte, error)
	Sessions(fn func(contactID string, state []byte) error) error
	Commit(ctx context.Context, t store.Turn) (store.TurnResult, error)
	History(contactID string, afterSeq uint64, limit int) ([]store.Message, error)
	LastMessages(contactID string, n int) ([]store.Message, error)
	LastInboundAddress(contactID string) (string, error)
	PendingOutbox() ([]store.OutboxEntry, error)
	DeleteOutbox(ctx context.Context, id uint64) error
	DeleteOutboxes(ctx context.Context, ids ...uint64) (int, error)
	RescheduleOutbox(ctx context.Context, id uint64, attempts int, notBefore time.Time) error
	AppendEvents(ctx context.Context, evs ...store.Event) error
}

// profileStore keeps what a channel says about an identity (Inbound.Profile);
// *store.DB has it.
type profileStore interface {
	SetProfile(ctx context.Context, identity string, p store.Profile) error
}

// Config tunes the runtime; the zero value works.
type Config struct {
	Logger zerolog.Logger
	Clock  func() time.Time
	// Workers bounds the turns processed at once (default 64); SendWorkers
	// bounds concurrent sends (default 64).
	Workers, SendWorkers int
	// MaxText is the longest text a channel takes in one message (runes);
	// longer replies are split. Default 4096 for every channel.
	MaxText map[channel.Name]int
	// Typing lists the channels that get a "typing" signal while a turn runs.
	// Default: the web chat only (on Telegram and VK it would spend the
	// per-chat rate limit the reply needs).
	Typing map[channel.Name]bool
	// TypingDelay is how long a turn runs before the typing signal is sent
	// (default 300ms): a reply that comes sooner needs none, and the
	// indicator would only flicker.
	TypingDelay time.Duration
	// MaxAttempts is how often a reply is tried before it is dropped with a
	// send_failed event (default 25, about 1.5 hours of backoff).
	MaxAttempts int
	// RetryBase is the first backoff after a failed send (default 1s); it
	// doubles per attempt up to 5 minutes.
	RetryBase time.Duration
	// Metrics registers the runtime's collectors when not nil.
	Metrics prometheus.Registerer
	// Handoff routes conversations to humans; nil means no human queue
	// (a flow's handoff then only records an event).
	Handoff Handoff
	// FloodRate and FloodBurst bound the messages per second a contact gets
	// answered (default 5/s, burst 20); messages over it are recorded but
	// not answered. A negative FloodRate switches the guard off.
	FloodRate  float64
	FloodBurst int
	// Link tunes linking a customer's channels with a code (bot/link.go).
	Link LinkConfig
	// TriggerIdle is how long after the last message a conversation whose
	// bot waits for the customer's answer counts as busy for triggers
	// (default 30 minutes); TriggerSweep is how often parked triggers are
	// checked (default 30s). See bot/trigger.go.
	TriggerIdle, TriggerSweep time.Duration
	// UnsubscribeLink returns the link that opts a contact out of marketing
	// on a channel; marketing e-mails carry it. Nil: no link.
	UnsubscribeLink func(contactID, channel string) string
	// ChannelCost is what one message costs per channel ("sms": 3.5), for
	// cascades' reports; a channel not listed costs 0.
	ChannelCost map[string]float64
	// Observe, when set, is called after each committed turn with the flow
	// engine's outputs (the terminal chat prints them; tests inspect them).
	Observe func(contactID string, outs []flows.Output)
	// Files is the policy on attachments (size, types, retention): see
	// bot/files.go. The zero value takes channel.DefaultMaxFileBytes and
	// channel.DefaultFileTypes and keeps files for ever.
	Files FilesConfig
	// Debug asks the engine for a trace of every message (a Debug output,
	// which only Observe sees: it is never sent or stored). For parley chat.
	Debug bool
}

// ErrStopping is returned by HandleInbound during shutdown, so adapters ask
// the platform to redeliver later.
var ErrStopping = errors.New("bot: shutting down")

// Runtime is the conversation runtime. Create it with New, then Start.
type Runtime struct {
	cfg     Config
	log     zerolog.Logger
	now     func() time.Time
	db      Store
	engine  atomic.Pointer[flows.Engine]
	senders map[channel.Name]channel.Sender
	handoff Handoff
	metrics *metrics

	ctx      context.Context // lives from Start to Shutdown
	cancel   context.CancelFunc
	stopping atomic.Bool
	turns    *lanes[job]
	outbox   *outbox
	flood    *floodGuard
	startMu  sync.Mutex
	sweeping bool         // guarded by startMu: the parked-trigger sweeper runs
	linkMu   sync.RWMutex // held to write by a link, to read by HandleInbound
	// inflight holds the event keys whose turn runs in HandleInbound now
	// (key -> chan closed when it ends), so a redelivery waits for it.
	inflight sync.Map
	opening  openings // recent openings (bot/opening.go)
	// linkPayloads caches the current engine's link buttons (bot/link.go).
	linkPayloads atomic.Pointer[flowLinkPayloads]
	// filesKeep is the file retention in force (bot/files.go).
	filesKeep atomic.Int64
}

// job is one unit of a contact's ordered work: an inbox entry (seq), or an
// event answered at once whose turn records its key (see answerNow).
type job struct {
	seq     uint64
	key     string
	item    inboxItem
	contact *store.Contact // as HandleInbound resolved it, for a job it runs itself
	// sendCtx is the context of the HandleInbound call a job it runs itself
	// answers: the turn's direct replies are sent with its values (the web
	// chat puts them in the frame that acknowledges the message), though not
	// with its deadline. Nil for a job from the inbox.
	sendCtx context.Context
}

// inboxItem is what the runtime stores in the inbox: a customer message, or
// an instruction to resume the bot after a handoff.
type inboxItem struct {
	Kind string           `json:"kind"` // "message", "resume" or "timeout"
	In   *channel.Inbound `json:"in,omitempty"`
	// Flooded marks a message over the contact's rate: kept, not answered.
	Flooded bool `json:"flooded,omitempty"`
	// Cut is the length in runes a message had before it was cut to
	// maxInboundRunes (sanitizeInbound); 0 when it was not.
	Cut int `json:"cut,omitempty"`
	// Trigger is a "trigger" entry's flow start (bot/trigger.go).
	Trigger *triggerItem `json:"trigger,omitempty"`
}

const (
	kindMessage = "message"
	kindResume  = "resume"
	kindTimeout = "timeout" // a waiting node's deadline passed
)

// New returns a runtime running engine over db, replying through senders.
func New(cfg Config, db Store, engine *flows.Engine, senders ...channel.Sender) *Runtime {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.SendWorkers <= 0 {
		cfg.SendWorkers = 64
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 25
	}
	if cfg.Typing == nil {
		cfg.Typing = map[channel.Name]bool{channel.Web: true}
	}
	if cfg.TriggerIdle <= 0 {
		cfg.TriggerIdle = 30 * time.Minute
	}
	if cfg.TriggerSweep <= 0 {
		cfg.TriggerSweep = 30 * time.Second
	}
	if cfg.TypingDelay <= 0 {
		cfg.TypingDelay = 300 * time.Millisecond
	}
	r := &Runtime{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Clock,
		db:      db,
		senders: make(map[channel.Name]channel.Sender, len(senders)),
		handoff: cfg.Handoff,
	}
	for _, s := range senders {
		r.senders[s.Channel()] = s
	}
	r.engine.Store(engine)
	r.filesKeep.Store(int64(cfg.Files.Keep))
	if cfg.FloodRate == 0 {
		cfg.FloodRate, cfg.FloodBurst = 5, 20
	}
	if cfg.FloodBurst <= 0 {
		cfg.FloodBurst = 1
	}
	r.cfg = cfg
	r.flood = newFloodGuard(cfg.FloodRate, cfg.FloodBurst)
	r.turns = newLanes(cfg.Workers, r.runJob)
	r.outbox = newOutbox(r)
	r.metrics = newMetrics(cfg.Metrics, func() float64 { return float64(r.outbox.depth()) })
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// SetEngine swaps the flow engine atomically (a flow reload): turns already
// running finish on the old one, the next turn uses the new one.
func (r *Runtime) SetEngine(e *flows.Engine) { r.engine.Store(e) }

// Start resumes the work a previous run left: inbox entries not yet
// processed and replies not yet delivered.
func (r *Runtime) Start(ctx context.Context) error {
	r.startMu.Lock()
	defer r.startMu.Unlock()
	pending, err := r.db.PendingInbox()
	if err != nil {
		return fmt.Errorf("bot: resume inbox: %w", err)
	}
	for _, e := range pending {
		var item inboxItem
		if err := json.Unmarshal(e.Data, &item); err != nil {
			r.log.Error().Err(err).Uint64("inbox_seq", e.Seq).Msg("undecodable inbox entry left in place")
			continue
		}
		r.turns.push(e.ContactID, job{seq: e.Seq, item: item})
	}
	if err := r.db.Sessions(func(contactID string, data []byte) error {
		if st, err := flows.UnmarshalState(data); err == nil {
			r.scheduleTimeout(contactID, st)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("bot: resume wait timeouts: %w", err)
	}
	out, err := r.db.PendingOutbox()
	if err != nil {
		return fmt.Errorf("bot: resume outbox: %w", err)
	}
	r.outbox.push(out...)
	if !r.sweeping {
		r.sweeping = true
		go r.runSweeper()
	}
	go r.pruneFiles() // ends with r.ctx
	if len(pending)+len(out) > 0 {
		r.log.Info().Int("inbox", len(pending)).Int("outbox", len(out)).Msg("resumed pending work")
	}
	return nil
}

// HandleInbound implements channel.Handler: it records the event durably
// (deduplicated on its event id) and queues it behind the contact's earlier
// messages. It returns nil once the event is safe on disk.
func (r *Runtime) HandleInbound(ctx context.Context, in channel.Inbound) error {
	if r.stopping.Load() {
		return ErrStopping
	}
	// A link (bot/link.go) merges contacts with no event being recorded
	// meanwhile, so events land behind the merged ones, in order.
	r.linkMu.RLock()
	defer r.linkMu.RUnlock()
	if in.EventID == "" {
		return errors.New("bot: inbound event without an event id")
	}
	if !in.From.Channel.Valid() || in.From.Channel.OutboundOnly() || in.From.ID == "" {
		return fmt.Errorf("bot: inbound event from invalid address %q", in.From)
	}
	if in.At.IsZero() {
		in.At = r.now()
	}
	cut := sanitizeInbound(&in)
	c, _, err := r.db.ResolveContact(ctx, in.From.String(), in.Name, in.Lang)
	if err != nil {
		return fmt.Errorf("bot: resolve contact: %w", err)
	}
	if ps, ok := r.db.(profileStore); ok && len(in.Profile) > 0 {
		// For the agent's card only: a failure costs the customer nothing.
		if err := ps.SetProfile(ctx, in.From.String(), in.Profile); err != nil {
			r.log.Warn().Err(err).Str("contact", c.ID).Msg("bot: keep the channel's profile")
		}
	}
	// The key names the sender too: an event id is unique per channel at
	// best, and the web chat's ids are chosen per visitor.
	key := in.From.String() + "|" + in.EventID
	if running, ok := r.inflight.Load(key); ok {
		// A redelivery of an event being answered right now: wait, so it is
		// found recorded (or, if that turn failed, recorded here).
		select {
		case <-running.(chan struct{}):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	allowed, giveBack := r.flood.allow(c.ID, r.now())
	item := inboxItem{Kind: kindMessage, In: &in, Flooded: !allowed, Cut: cut}
	// A file to download first (bot/files.go) is recorded before its turn
	// runs, so the channel's request is answered without waiting for it.
	if !in.Queue && !isLinkRequest(in) && !isLinkCode(in) && !r.fetchesFiles(in) && r.turns.tryAcquire(ctx, c.ID) {
		return r.answerNow(ctx, &c, key, item, giveBack)
	}
	seq, dup, err := r.record(ctx, c.ID, key, item, giveBack)
	if err != nil || dup {
		return err
	}
	r.turns.push(c.ID, job{seq: seq, item: item})
	return nil
}

// record writes an inbound event to the inbox, durably and deduplicated on
// its key.
func (r *Runtime) record(ctx context.Context, contactID, key string, item inboxItem, giveBack func()) (seq uint64, dup bool, err error) {
	ch := string(item.In.From.Channel)
	data, err := json.Marshal(item)
	if err != nil {
		giveBack()
		return 0, false, fmt.Errorf("bot: encode inbound: %w", err)
	}
	seq, dup, err = r.db.Enqueue(ctx, contactID, key, data)
	if err != nil {
		giveBack()
		return 0, false, fmt.Errorf("bot: record inbound: %w", err)
	}
	if dup {
		r.dropDuplicate(item, giveBack)
		return 0, true, nil
	}
	r.metrics.inbound(ch)
	return seq, false, nil
}

// dropDuplicate accounts for a redelivered event that is not processed.
func (r *Runtime) dropDuplicate(item inboxItem, giveBack func()) {
	giveBack()
	r.metrics.duplicate(string(item.In.From.Channel))
	r.log.Debug().Str("event", item.In.EventID).Msg("redelivered event dropped")
}

// answerNow runs a message's turn in the caller's goroutine while the
// contact's lane is idle. The committed turn is the event's durable record
// (it carries the event key, which deduplicates redeliveries), so the
// channel is acknowledged after one commit instead of an inbox write plus
// the turn's. When the turn cannot commit, the message takes the inbox
// path; it still holds the lane, so it keeps its place before messages
// queued meanwhile.
func (r *Runtime) answerNow(ctx context.Context, c *store.Contact, key string, item inboxItem, giveBack func()) error {
	contactID := c.ID
	defer r.turns.release(contactID)
	done := make(chan struct{})
	r.inflight.Store(key, done)
	defer func() {
		r.inflight.Delete(key)
		close(done)
	}()
	ch := string(item.In.From.Channel)
	start := time.Now()
	err := r.processJob(r.ctx, contactID, job{key: key, item: item, contact: c, sendCtx: ctx})
	switch {
	case err == nil:
		r.metrics.inbound(ch)
		r.metrics.turnSeconds(time.Since(start).Seconds())
		return nil
	case errors.Is(err, store.ErrDuplicate):
		r.dropDuplicate(item, giveBack)
		return nil
	}
	r.log.Warn().Err(err).Str("contact", contactID).Msg("turn not committed; message goes through the inbox")
	seq, dup, err := r.record(ctx, contactID, key, item, giveBack)
	if err != nil || dup {
		return err
	}
	r.runJob(contactID, job{seq: seq, item: item})
	return nil
}

// maxInboundRunes bounds what one customer message may carry into a turn.
const maxInboundRunes = 8192

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// Resume hands a contact back to the bot after a human handoff: the flow
// continues at its resume point in the contact's ordered lane. The request
// is recorded durably first, so a crash cannot strand the customer.
func (r *Runtime) Resume(ctx context.Context, contactID string) error {
	data, _ := json.Marshal(inboxItem{Kind: kindResume})
	key := fmt.Sprintf("resume|%s|%d", contactID, r.now().UnixNano())
	seq, _, err := r.db.Enqueue(ctx, contactID, key, data)
	if err != nil {
		return fmt.Errorf("bot: record resume: %w", err)
	}
	r.turns.push(contactID, job{seq: seq, item: inboxItem{Kind: kindResume}})
	return nil
}

// scheduleTimeout arranges for a waiting node's timeout branch to run at
// its deadline. The firing is recorded in the inbox like a message, so it
// keeps its place in the contact's order and survives a restart; a session
// that moved on meanwhile makes it a no-op.
func (r *Runtime) scheduleTimeout(contactID string, st flows.State) {
	deadline, ok := st.WaitDeadline()
	if !ok {
		return
	}
	time.AfterFunc(max(time.Until(deadline), 0), func() {
		if r.stopping.Load() || r.ctx.Err() != nil {
			return // the next start schedules it again from the session
		}
		data, _ := json.Marshal(inboxItem{Kind: kindTimeout})
		key := fmt.Sprintf("timeout|%s|%d", contactID, deadline.Unix())
		seq, dup, err := r.db.Enqueue(r.ctx, contactID, key, data)
		if err != nil {
			r.log.Error().Err(err).Str("contact", contactID).Msg("wait timeout not recorded")
			return
		}
		if !dup {
			r.turns.push(contactID, job{seq: seq, item: inboxItem{Kind: kindTimeout}})
		}
	})
}

// Flush waits until every queued turn has run and every reply that can be
// sent now has been delivered (or ctx ends). The terminal chat and tests use it.
func (r *Runtime) Flush(ctx context.Context) error {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.turns.pending() == 0 && r.outbox.readyDepth(r.now()) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Shutdown stops taking new events, lets the running and queued turns
// finish, tries to deliver what is ready until ctx ends, then stops the
// senders. Whatever is left stays in the store for the next start.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.stopping.Store(true)
	done := make(chan struct{})
	go func() { r.turns.wait(); close(done) }()
	var err error
	select {
	case <-done:
		err = r.Flush(ctx)
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.cancel()
	r.outbox.wait()
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		r.log.Warn().Msg("shutdown budget spent; pending work stays in the store")
		return nil
	}
	return err
}

// SetHandoff connects the human queue before Start. (The queue is built
// after the runtime because it delivers its messages through it.)
func (r *Runtime) SetHandoff(h Handoff) { r.handoff = h }
