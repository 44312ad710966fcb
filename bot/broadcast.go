package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/segment"
	"github.com/parley-chat/parley/store"
)

// Broadcasts: a flow started through Trigger for every contact of a
// segment. The recipients are snapshotted when the broadcast starts
// (StartBroadcast); the Broadcaster sends to them at the broadcast's rate,
// only inside its send window, and marks each one in the store. Each
// recipient's trigger carries an idempotency key of the broadcast and the
// recipient, so a crash between the trigger and the mark replays the
// recorded trigger on restart instead of sending again: every recipient
// exactly once.

// SegmentSource is what matching a segment reads.
type SegmentSource interface {
	EachContact(fn func(store.Contact) error) error
	ContactFacts(id string) (store.ContactFacts, error)
}

// SegmentContact is the contact as segment expressions see it.
func SegmentContact(c store.Contact, f store.ContactFacts) segment.Contact {
	var chans []string
	for _, id := range c.Identities {
		if ch, _, ok := strings.Cut(id, ":"); ok && ch != "external" {
			chans = append(chans, ch)
		}
	}
	return segment.Contact{ID: c.ID, Name: c.Name, Lang: c.Lang, Channels: chans, Fields: c.Fields,
		FirstSeen: f.FirstSeen, LastMessageAt: f.LastMessageAt, LastInboundAt: f.LastInboundAt,
		MessagesIn: f.MessagesIn, MessagesOut: f.MessagesOut, Conversations: f.Conversations,
		Tickets: f.Tickets, OpenTicket: f.OpenTicket, CSAT: f.CSATAvg, CSATCount: f.CSATCount}
}

// MatchSegment calls fn with every contact in seg at now, in the store's
// order; fn returning false stops.
func MatchSegment(db SegmentSource, seg *segment.Segment, now time.Time, fn func(store.Contact) bool) error {
	stop := errors.New("stop")
	err := db.EachContact(func(c store.Contact) error {
		f, err := db.ContactFacts(c.ID)
		if err != nil {
			return err
		}
		ok, err := seg.Match(SegmentContact(c, f), now)
		if err != nil {
			return fmt.Errorf("contact %s: %w", c.ID, err)
		}
		if ok && !fn(c) {
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

// Preview is a segment's size and its first sample contacts.
type Preview struct {
	Count  int             `json:"count"`
	Sample []store.Contact `json:"sample"`
}

// PreviewSegment counts the contacts in seg and keeps the first sample.
func PreviewSegment(db SegmentSource, seg *segment.Segment, now time.Time, sample int) (Preview, error) {
	p := Preview{Sample: []store.Contact{}}
	err := MatchSegment(db, seg, now, func(c store.Contact) bool {
		if p.Count++; len(p.Sample) < sample {
			p.Sample = append(p.Sample, c)
		}
		return true
	})
	return p, err
}

// BroadcastStore is what broadcasts keep in the store.
type BroadcastStore interface {
	SegmentSource
	Broadcast(id string) (store.Broadcast, error)
	Broadcasts() ([]store.Broadcast, error)
	StartBroadcast(ctx context.Context, id string, rs []store.Recipient) (store.Broadcast, error)
	QueuedRecipients(id string, limit int, open func(store.Recipient) bool) ([]store.Recipient, error)
	MarkRecipient(ctx context.Context, id string, i int, outcome, detail, trigger string) (bool, error)
}

// KnowsFlow reports whether the running project has the flow (a
// broadcast is checked against it when created).
func (r *Runtime) KnowsFlow(name string) bool { return r.engine.Load().HasFlow(name) }

// SuggestFlow is the running project's flow closest to a mistyped name
// ("" when none is close), for the API's "did you mean".
func (r *Runtime) SuggestFlow(name string) string {
	return r.engine.Load().Project().SuggestFlow(name)
}

// CheckBroadcast checks a new broadcast before it is stored: the segment
// type-checks, the flow exists (when hasFlow is not nil), the rate and the
// window and time zone read.
func CheckBroadcast(b store.Broadcast, hasFlow func(string) bool) error {
	if _, err := segment.Compile(b.Segment); err != nil {
		return err
	}
	if hasFlow != nil && !hasFlow(b.Flow) {
		return fmt.Errorf("%w %q", flows.ErrUnknownFlow, b.Flow)
	}
	if b.Rate <= 0 || b.Rate > 60_000 {
		return fmt.Errorf("rate %d: want messages per minute between 1 and 60000", b.Rate)
	}
	if _, err := ParseSendWindow(b.Window); err != nil {
		return err
	}
	if _, err := time.LoadLocation(b.TimeZone); err != nil {
		return fmt.Errorf("time zone %q: want an IANA name such as Europe/Moscow", b.TimeZone)
	}
	return nil
}

// TimeZoneField is the contact field that holds a contact's own time zone
// (an IANA name, set through PATCH /api/v1/contacts): the send window is
// then in it.
const TimeZoneField = "time_zone"

// StartBroadcast matches the draft broadcast's segment now and snapshots
// the matching contacts, with their time zones, as its recipients.
func StartBroadcast(ctx context.Context, db BroadcastStore, id string, now time.Time) (store.Broadcast, error) {
	b, err := db.Broadcast(id)
	if err != nil {
		return b, err
	}
	if b.State != store.BroadcastDraft {
		return b, fmt.Errorf("broadcast %s is %s; only a draft can start: %w", id, b.State, store.ErrConflict)
	}
	seg, err := segment.Compile(b.Segment)
	if err != nil {
		return b, err
	}
	var rs []store.Recipient
	err = MatchSegment(db, seg, now, func(c store.Contact) bool {
		r := store.Recipient{ContactID: c.ID}
		if tz := c.Fields[TimeZoneField]; tz != "" {
			if _, err := time.LoadLocation(tz); err == nil {
				r.TimeZone = tz
			}
		}
		rs = append(rs, r)
		return true
	})
	if err != nil {
		return b, err
	}
	return db.StartBroadcast(ctx, id, rs)
}

// SendWindow is the daily hours a broadcast may send in, [From, To) in
// minutes after midnight; To < From spans midnight; the zero window is
// always open.
type SendWindow struct{ From, To int }

// ParseSendWindow reads "09:00-21:00"; "" is always open.
func ParseSendWindow(s string) (SendWindow, error) {
	if strings.TrimSpace(s) == "" {
		return SendWindow{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	from, err1 := time.Parse("15:04", strings.TrimSpace(a))
	to, err2 := time.Parse("15:04", strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || from.Equal(to) {
		return SendWindow{}, fmt.Errorf("send window %q: want HH:MM-HH:MM, e.g. 09:00-21:00", s)
	}
	return SendWindow{From: from.Hour()*60 + from.Minute(), To: to.Hour()*60 + to.Minute()}, nil
}

// Open reports whether t (in the window's time zone) is inside the window.
func (w SendWindow) Open(t time.Time) bool {
	if w.From == w.To {
		return true
	}
	m := t.Hour()*60 + t.Minute()
	if w.From < w.To {
		return m >= w.From && m < w.To
	}
	return m >= w.From || m < w.To
}

// Triggerer starts a flow for a contact (Runtime.Trigger).
type Triggerer interface {
	Trigger(ctx context.Context, req TriggerRequest) (TriggerResult, error)
}

// Broadcaster sends running broadcasts.
type Broadcaster struct {
	rt  Triggerer
	db  BroadcastStore
	loc *time.Location // the project's time zone, for broadcasts with none
	now func() time.Time
	log zerolog.Logger
	// Tick is how often Run looks for work; a send never bursts more than a
	// tick's worth of its rate.
	Tick time.Duration

	mu   sync.Mutex
	next map[string]time.Time // broadcast id -> earliest next send
}

// NewBroadcaster sends through rt; loc is the project's time zone (nil:
// UTC), now the clock (nil: time.Now).
func NewBroadcaster(rt Triggerer, db BroadcastStore, loc *time.Location, now func() time.Time, log zerolog.Logger) *Broadcaster {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Broadcaster{rt: rt, db: db, loc: loc, now: now, log: log, Tick: time.Second, next: map[string]time.Time{}}
}

// Run sends until ctx ends.
func (b *Broadcaster) Run(ctx context.Context) {
	t := time.NewTicker(b.Tick)
	defer t.Stop()
	for {
		if _, err := b.Step(ctx); err != nil && ctx.Err() == nil {
			b.log.Error().Err(err).Msg("broadcast step failed; retrying next tick")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step sends what every running broadcast's rate allows now, inside its
// window, and returns how many recipients it marked.
func (b *Broadcaster) Step(ctx context.Context) (int, error) {
	all, err := b.db.Broadcasts()
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	marked := 0
	for _, bc := range all {
		if bc.State != store.BroadcastRunning {
			delete(b.next, bc.ID)
			continue
		}
		n, err := b.stepOne(ctx, bc)
		marked += n
		if err != nil {
			return marked, err
		}
	}
	return marked, nil
}

func (b *Broadcaster) stepOne(ctx context.Context, bc store.Broadcast) (int, error) {
	w, err := ParseSendWindow(bc.Window)
	if err != nil {
		return 0, fmt.Errorf("broadcast %s: %w", bc.ID, err)
	}
	def := b.loc
	if bc.TimeZone != "" {
		if def, err = time.LoadLocation(bc.TimeZone); err != nil {
			return 0, fmt.Errorf("broadcast %s: time zone %q: %w", bc.ID, bc.TimeZone, err)
		}
	}
	now := b.now()
	interval := time.Minute / time.Duration(bc.Rate)
	next, ok := b.next[bc.ID]
	if !ok || next.Before(now.Add(-b.Tick)) {
		next = now // no catching up after a pause or a closed window
	}
	allowed := 0
	for t := next; !now.Before(t) && allowed < maxPerStep; t = t.Add(interval) {
		allowed++
	}
	if allowed == 0 {
		b.next[bc.ID] = next
		return 0, nil
	}
	locs := map[string]*time.Location{"": def}
	open := func(r store.Recipient) bool {
		loc, ok := locs[r.TimeZone]
		if !ok {
			loc = def
			if l, lerr := time.LoadLocation(r.TimeZone); lerr == nil {
				loc = l
			}
			locs[r.TimeZone] = loc
		}
		return w.Open(now.In(loc))
	}
	rs, err := b.db.QueuedRecipients(bc.ID, allowed, open)
	if err != nil {
		return 0, err
	}
	marked := 0
	defer func() { b.next[bc.ID] = next }()
	for _, r := range rs {
		if ctx.Err() != nil {
			return marked, nil
		}
		// A pause or a cancel during the step stops it before the next send.
		if cur, err := b.db.Broadcast(bc.ID); err != nil || cur.State != store.BroadcastRunning {
			return marked, err
		}
		outcome, detail, trig, err := b.send(ctx, bc, r)
		if err != nil {
			return marked, err
		}
		if _, err := b.db.MarkRecipient(ctx, bc.ID, r.Index, outcome, detail, trig); err != nil {
			return marked, err
		}
		marked++
		next = next.Add(interval)
	}
	return marked, nil
}

// maxPerStep bounds the sends of one broadcast in one step.
const maxPerStep = 1000

// send triggers the broadcast's flow for one recipient and says what
// became of it; err only when the runner must stop (shutdown, store).
func (b *Broadcaster) send(ctx context.Context, bc store.Broadcast, r store.Recipient) (outcome, detail, trigger string, err error) {
	res, err := b.rt.Trigger(ctx, TriggerRequest{ContactID: r.ContactID, Flow: bc.Flow, Params: bc.Params,
		Transactional: bc.Transactional, IdempotencyKey: fmt.Sprintf("broadcast:%s:%d", bc.ID, r.Index), BodyHash: "broadcast"})
	var busy *BusyError
	switch {
	case err == nil:
		return store.OutcomeSent, res.Channel, res.ID, nil
	case errors.Is(err, ErrStopping), ctx.Err() != nil:
		return "", "", "", err
	case errors.Is(err, ErrOptedOut):
		return store.OutcomeOptedOut, "", "", nil
	case errors.Is(err, ErrNoChannel):
		return store.OutcomeNoChannel, "", "", nil
	case errors.As(err, &busy):
		return store.OutcomeBusy, busy.Reason, "", nil
	default:
		b.log.Warn().Err(err).Str("broadcast", bc.ID).Str("contact", r.ContactID).Msg("broadcast recipient failed")
		return store.OutcomeFailed, err.Error(), "", nil
	}
}
