package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Broadcasts: a flow started for every contact of a segment, at a rate,
// inside a send window. Start snapshots the recipients in one transaction;
// the runner (bot.Broadcaster) marks each one done in the same write that
// moves the broadcast's cursor, so a restart resumes at the first recipient
// not yet marked and never reaches one twice.
//
// Buckets (created on first write; a missing bucket reads as empty):
//
//	broadcasts            broadcast id -> JSON Broadcast
//	broadcast_recipients  broadcast id + 0x00 + uint64 index -> JSON Recipient

var (
	bBroadcasts = []byte("broadcasts")
	bRecipients = []byte("broadcast_recipients")
)

// Broadcast states.
const (
	BroadcastDraft     = "draft"
	BroadcastRunning   = "running"
	BroadcastPaused    = "paused"
	BroadcastCancelled = "cancelled"
	BroadcastDone      = "done"
)

// Recipient outcomes.
const (
	OutcomeQueued     = "queued"
	OutcomeSent       = "sent"
	OutcomeOptedOut   = "skipped_opted_out"
	OutcomeBusy       = "skipped_busy"
	OutcomeNoChannel  = "skipped_no_channel"
	OutcomeFailed     = "failed"
	OutcomeNotStarted = "cancelled" // left queued when the broadcast was cancelled
)

// Broadcast is one stored broadcast.
type Broadcast struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Segment       string         `json:"segment"` // a segment expression (package segment)
	Flow          string         `json:"flow"`
	Params        map[string]any `json:"params,omitempty"`
	Transactional bool           `json:"transactional,omitempty"`
	Rate          int            `json:"rate"`             // messages per minute
	Window        string         `json:"window,omitempty"` // "09:00-21:00"; "" sends at any hour
	TimeZone      string         `json:"time_zone,omitempty"`
	State         string         `json:"state"`
	CreatedAt     time.Time      `json:"created_at"`
	StartedAt     time.Time      `json:"started_at,omitzero"`
	FinishedAt    time.Time      `json:"finished_at,omitzero"`
	Total         int            `json:"total"`
	// Next is the index of the first recipient still queued.
	Next   int            `json:"next"`
	Counts map[string]int `json:"counts,omitempty"` // recipients by outcome
}

// Recipient is one contact of a started broadcast and what became of it.
type Recipient struct {
	Index     int    `json:"index"`
	ContactID string `json:"contact"`
	// TimeZone is the contact's own (its time_zone field) when it had a
	// valid one at the start: the send window is then in it.
	TimeZone string    `json:"tz,omitempty"`
	Outcome  string    `json:"outcome"`
	Detail   string    `json:"detail,omitempty"`
	Trigger  string    `json:"trigger,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

func recipientKey(id string, i int) []byte {
	k := make([]byte, 0, len(id)+9)
	k = append(append(k, id...), 0)
	return binary.BigEndian.AppendUint64(k, uint64(i))
}

func getBroadcast(tx *bolt.Tx, id string) (Broadcast, error) {
	var b Broadcast
	bk := tx.Bucket(bBroadcasts)
	var v []byte
	if bk != nil {
		v = bk.Get([]byte(id))
	}
	if v == nil {
		return b, fmt.Errorf("store: broadcast %q: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &b); err != nil {
		return b, fmt.Errorf("store: broadcast %q: %w", id, err)
	}
	return b, nil
}

func putBroadcast(tx *bolt.Tx, b Broadcast) error {
	bk, err := tx.CreateBucketIfNotExists(bBroadcasts)
	if err != nil {
		return err
	}
	return putJSON(bk, []byte(b.ID), b)
}

// CreateBroadcast stores a new draft broadcast and returns it with its id.
// The caller has checked the segment and the flow.
func (db *DB) CreateBroadcast(ctx context.Context, b Broadcast) (Broadcast, error) {
	if b.Flow == "" || b.Segment == "" {
		return b, fmt.Errorf("store: a broadcast needs a segment and a flow")
	}
	if b.Rate <= 0 {
		return b, fmt.Errorf("store: broadcast rate %d: want messages per minute > 0", b.Rate)
	}
	b.ID, b.State, b.CreatedAt = newID("b_", db.now()), BroadcastDraft, db.now()
	b.Total, b.Next, b.Counts = 0, 0, nil
	return b, db.write(ctx, func(tx *bolt.Tx) error { return putBroadcast(tx, b) })
}

// Broadcast returns one broadcast; ErrNotFound when none.
func (db *DB) Broadcast(id string) (Broadcast, error) {
	var b Broadcast
	err := db.view(func(tx *bolt.Tx) (err error) { b, err = getBroadcast(tx, id); return err })
	return b, err
}

// Broadcasts lists every broadcast, oldest first.
func (db *DB) Broadcasts() ([]Broadcast, error) {
	var out []Broadcast
	err := db.view(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bBroadcasts)
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error {
			var b Broadcast
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("store: broadcast %q: %w", k, err)
			}
			out = append(out, b)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Broadcast) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// StartBroadcast snapshots rs (contact and time zone) as the draft
// broadcast's recipients, all queued, and sets it running, in one
// transaction. With no recipient it is done at once.
func (db *DB) StartBroadcast(ctx context.Context, id string, rs []Recipient) (Broadcast, error) {
	var b Broadcast
	now := db.now()
	err := db.write(ctx, func(tx *bolt.Tx) (err error) {
		if b, err = getBroadcast(tx, id); err != nil {
			return err
		}
		if b.State != BroadcastDraft {
			return fmt.Errorf("store: broadcast %s is %s; only a draft can start: %w", id, b.State, ErrConflict)
		}
		rb, err := tx.CreateBucketIfNotExists(bRecipients)
		if err != nil {
			return err
		}
		for i, r := range rs {
			r = Recipient{Index: i, ContactID: r.ContactID, TimeZone: r.TimeZone, Outcome: OutcomeQueued}
			if err := putJSON(rb, recipientKey(id, i), r); err != nil {
				return err
			}
		}
		b.State, b.StartedAt, b.Total, b.Next = BroadcastRunning, now, len(rs), 0
		b.Counts = map[string]int{OutcomeQueued: len(rs)}
		if b.Total == 0 {
			b.State, b.FinishedAt = BroadcastDone, now
		}
		return putBroadcast(tx, b)
	})
	return b, err
}

// SetBroadcastState moves a broadcast to state: paused from running,
// running from paused (resume), cancelled from draft, running or paused.
// Cancelling marks the recipients not yet reached as cancelled.
func (db *DB) SetBroadcastState(ctx context.Context, id, state string) (Broadcast, error) {
	from := map[string][]string{
		BroadcastPaused:    {BroadcastRunning},
		BroadcastRunning:   {BroadcastPaused},
		BroadcastCancelled: {BroadcastDraft, BroadcastRunning, BroadcastPaused},
	}[state]
	if from == nil {
		return Broadcast{}, fmt.Errorf("store: a broadcast cannot be set %q", state)
	}
	var b Broadcast
	now := db.now()
	err := db.write(ctx, func(tx *bolt.Tx) (err error) {
		if b, err = getBroadcast(tx, id); err != nil {
			return err
		}
		if !slices.Contains(from, b.State) {
			return fmt.Errorf("store: broadcast %s is %s, cannot become %s: %w", id, b.State, state, ErrConflict)
		}
		b.State = state
		if state == BroadcastCancelled {
			b.FinishedAt = now
			if rb := tx.Bucket(bRecipients); rb != nil {
				for i := b.Next; i < b.Total; i++ {
					r, err := getRecipient(rb, id, i)
					if err != nil {
						return err
					}
					if r.Outcome != OutcomeQueued {
						continue
					}
					r.Outcome, r.At = OutcomeNotStarted, now
					if err := putJSON(rb, recipientKey(id, i), r); err != nil {
						return err
					}
					b.Counts[OutcomeQueued]--
					b.Counts[OutcomeNotStarted]++
				}
			}
		}
		return putBroadcast(tx, b)
	})
	return b, err
}

func getRecipient(rb *bolt.Bucket, id string, i int) (Recipient, error) {
	var r Recipient
	v := rb.Get(recipientKey(id, i))
	if v == nil {
		return r, fmt.Errorf("store: recipient %d of broadcast %q: %w", i, id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("store: recipient %d of broadcast %q: %w", i, id, err)
	}
	return r, nil
}

// QueuedRecipients are up to limit queued recipients of the running
// broadcast that open accepts (the send window is open in their time
// zone), in order from its cursor; none when it is not running.
func (db *DB) QueuedRecipients(id string, limit int, open func(Recipient) bool) ([]Recipient, error) {
	var out []Recipient
	err := db.view(func(tx *bolt.Tx) error {
		b, err := getBroadcast(tx, id)
		if err != nil || b.State != BroadcastRunning || b.Next >= b.Total {
			return err
		}
		rb := tx.Bucket(bRecipients)
		if rb == nil {
			return fmt.Errorf("store: broadcast %q has no recipients stored", id)
		}
		c := rb.Cursor()
		for k, v := c.Seek(recipientKey(id, b.Next)); k != nil && len(out) < limit; k, v = c.Next() {
			if len(k) != len(id)+9 || string(k[:len(id)]) != id || k[len(id)] != 0 {
				break
			}
			var r Recipient
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: recipient of broadcast %q: %w", id, err)
			}
			if r.Outcome == OutcomeQueued && open(r) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// MarkRecipient records the outcome of recipient i and moves the
// broadcast's cursor to the first recipient still queued, in one write;
// the last one makes the broadcast done. A recipient already marked is left as it is (ok false).
func (db *DB) MarkRecipient(ctx context.Context, id string, i int, outcome, detail, trigger string) (ok bool, err error) {
	now := db.now()
	err = db.write(ctx, func(tx *bolt.Tx) error {
		ok = false
		b, err := getBroadcast(tx, id)
		if err != nil {
			return err
		}
		rb := tx.Bucket(bRecipients)
		if rb == nil {
			return fmt.Errorf("store: broadcast %q has no recipients stored", id)
		}
		r, err := getRecipient(rb, id, i)
		if err != nil || r.Outcome != OutcomeQueued {
			return err
		}
		r.Outcome, r.Detail, r.Trigger, r.At = outcome, detail, trigger, now
		if err := putJSON(rb, recipientKey(id, i), r); err != nil {
			return err
		}
		b.Counts[OutcomeQueued]--
		b.Counts[outcome]++
		for b.Next < b.Total {
			n, err := getRecipient(rb, id, b.Next)
			if err != nil {
				return err
			}
			if n.Outcome == OutcomeQueued {
				break
			}
			b.Next++
		}
		if b.Counts[OutcomeQueued] == 0 && b.State == BroadcastRunning {
			b.State, b.FinishedAt = BroadcastDone, now
		}
		ok = true
		return putBroadcast(tx, b)
	})
	return ok, err
}

// Recipients lists a broadcast's recipients from index from, at most
// limit of them (0: all).
func (db *DB) Recipients(id string, from, limit int) ([]Recipient, error) {
	var out []Recipient
	err := db.view(func(tx *bolt.Tx) error {
		b, err := getBroadcast(tx, id)
		if err != nil {
			return err
		}
		rb := tx.Bucket(bRecipients)
		for i := from; rb != nil && i < b.Total && (limit <= 0 || len(out) < limit); i++ {
			r, err := getRecipient(rb, id, i)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}
