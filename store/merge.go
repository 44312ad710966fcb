package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MergeRecord is what a merge of two contacts changed, kept so a lead can
// undo it (UndoMerge). It holds a snapshot of the absorbed contact, so it is
// customer data: ForgetContact erases the records of the contacts it forgets.
type MergeRecord struct {
	ID     uint64    `json:"id"`
	At     time.Time `json:"at"`
	IntoID string    `json:"into_id"`
	// From is the absorbed contact as it was just before the merge.
	From Contact `json:"from"`
	// FromSession is the absorbed contact's session state, nil if none.
	FromSession []byte `json:"from_session,omitempty"`
	// GainedFields are the fields the survivor took from the absorbed
	// contact because it lacked them; GainedName and GainedLang likewise.
	GainedFields map[string]string `json:"gained_fields,omitempty"`
	GainedName   string            `json:"gained_name,omitempty"`
	GainedLang   string            `json:"gained_lang,omitempty"`
	// Tickets are the absorbed contact's tickets that moved to the survivor.
	Tickets []uint64 `json:"tickets,omitempty"`
	// Reason says how the merge came about ("link_code", "link_token", "api").
	Reason string `json:"reason,omitempty"`
	// By is who merged: "customer" for a link, an agent id otherwise.
	By       string    `json:"by,omitempty"`
	UndoneAt time.Time `json:"undone_at,omitzero"`
	UndoneBy string    `json:"undone_by,omitempty"`
}

// Undone reports whether the merge was undone.
func (m MergeRecord) Undone() bool { return !m.UndoneAt.IsZero() }

// MergeOptions describe who merges and why, for the merge record and event.
type MergeOptions struct {
	Reason string
	By     string
	// Session, when set, computes the survivor's session from the two
	// sessions (nil when a contact has none). It runs inside the write
	// transaction and may run more than once: it must be a pure function.
	// Without it the survivor keeps its session, or takes the absorbed one
	// when it has none.
	Session func(into, from []byte) ([]byte, error)
}

// MergeContacts folds contact from into contact into, in one transaction,
// for linking a customer's channels ("one customer across channels"). The
// rule, documented in docs/contacts.md:
//
//   - from's identities now resolve to into;
//   - the two histories are merged by time (stable, into's first on ties)
//     and renumbered 1..n, so an agent reads one conversation; each message
//     that came from `from` remembers the merge (Message.Via) for an undo;
//   - from's tickets, pending inbox and outbox entries move to into
//     (ErrTicketOpen if both have an open ticket: resolve one first);
//   - into keeps its name, lang and field values and gains the ones it
//     lacks; the session is MergeOptions.Session's, by default into's, or
//     from's when into has none;
//   - from's link codes are dropped, a MergeRecord and a "contact_merged"
//     event are recorded, and from is deleted.
//
// It rewrites both histories: meant for a rare, explicit link, not a hot path.
func (db *DB) MergeContacts(ctx context.Context, intoID, fromID string) (Contact, error) {
	res, err := db.Merge(ctx, intoID, fromID, MergeOptions{Reason: "api"})
	return res.Contact, err
}

// MergeResult is what Merge and LinkByCode did.
type MergeResult struct {
	Record  MergeRecord
	Contact Contact // the survivor after the merge
	// Moved are the absorbed contact's pending inbox entries, now the
	// survivor's: the runtime must queue them behind the survivor's work.
	Moved []InboxEntry
}

// Merge is MergeContacts with options, returning the merge record.
func (db *DB) Merge(ctx context.Context, intoID, fromID string, opts MergeOptions) (MergeResult, error) {
	if err := validContactID(intoID); err != nil {
		return MergeResult{}, err
	}
	if err := validContactID(fromID); err != nil {
		return MergeResult{}, err
	}
	if intoID == fromID {
		return MergeResult{}, fmt.Errorf("store: merge contact %q into itself", intoID)
	}
	now := db.now()
	var out MergeResult
	err := db.write(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = mergeTx(tx, intoID, fromID, opts, now)
		return err
	})
	return out, err
}

// mergeTx merges from into into inside tx; see MergeContacts.
func mergeTx(tx *bolt.Tx, intoID, fromID string, opts MergeOptions, now time.Time) (MergeResult, error) {
	into, err := getContact(tx, intoID)
	if err != nil {
		return MergeResult{}, err
	}
	from, err := getContact(tx, fromID)
	if err != nil {
		return MergeResult{}, err
	}
	open := tx.Bucket(bTicketOpen)
	if a, b := open.Get([]byte(intoID)), open.Get([]byte(fromID)); a != nil && b != nil {
		return MergeResult{}, fmt.Errorf("store: merge %q into %q: both have an open ticket (%d and %d): %w",
			fromID, intoID, be64(b), be64(a), ErrTicketOpen)
	}
	merges := tx.Bucket(bMerges)
	mid, err := merges.NextSequence()
	if err != nil {
		return MergeResult{}, err
	}
	rec := MergeRecord{ID: mid, At: now, IntoID: intoID, From: from, Reason: opts.Reason, By: opts.By}
	if err := mergeHistory(tx, intoID, fromID, mid); err != nil {
		return MergeResult{}, err
	}
	if rec.Tickets, err = moveTickets(tx, intoID, fromID); err != nil {
		return MergeResult{}, err
	}
	moved, err := moveInbox(tx, intoID, fromID)
	if err != nil {
		return MergeResult{}, err
	}
	if _, err := moveOutbox(tx, intoID, func(o OutboxEntry) bool { return o.ContactID == fromID }); err != nil {
		return MergeResult{}, err
	}
	sessions := tx.Bucket(bSessions)
	fs, is := bytes.Clone(sessions.Get([]byte(fromID))), bytes.Clone(sessions.Get([]byte(intoID)))
	rec.FromSession = fs
	merged := is
	if opts.Session != nil {
		if merged, err = opts.Session(is, fs); err != nil {
			return MergeResult{}, fmt.Errorf("store: merge sessions of %q and %q: %w", intoID, fromID, err)
		}
	} else if merged == nil {
		merged = fs
	}
	if merged != nil {
		if len(merged) > maxValue {
			return MergeResult{}, fmt.Errorf("store: merged session of %d bytes, limit %d", len(merged), maxValue)
		}
		if err := sessions.Put([]byte(intoID), merged); err != nil {
			return MergeResult{}, err
		}
	}
	if err := sessions.Delete([]byte(fromID)); err != nil {
		return MergeResult{}, err
	}
	if err := mergeRings(tx, intoID, fromID, true); err != nil {
		return MergeResult{}, err
	}
	ids := tx.Bucket(bIdentities)
	for _, identity := range from.Identities {
		if !slices.Contains(into.Identities, identity) {
			into.Identities = append(into.Identities, identity)
		}
		if err := ids.Put([]byte(identity), []byte(intoID)); err != nil {
			return MergeResult{}, err
		}
	}
	_, into.Profiles = moveProfiles(maps.Clone(from.Profiles), into.Profiles, from.Identities)
	if into.Name == "" && from.Name != "" {
		into.Name, rec.GainedName = from.Name, from.Name
	}
	if into.Lang == "" && from.Lang != "" {
		into.Lang, rec.GainedLang = from.Lang, from.Lang
	}
	for k, v := range from.Fields {
		if _, ok := into.Fields[k]; !ok {
			if into.Fields == nil {
				into.Fields = map[string]string{}
			}
			if rec.GainedFields == nil {
				rec.GainedFields = map[string]string{}
			}
			into.Fields[k], rec.GainedFields[k] = v, v
		}
	}
	into.UpdatedAt = now
	into.Rev++
	if err := putJSON(tx.Bucket(bContacts), []byte(intoID), into); err != nil {
		return MergeResult{}, err
	}
	if err := tx.Bucket(bContacts).Delete([]byte(fromID)); err != nil {
		return MergeResult{}, err
	}
	if err := mergeConsent(tx, intoID, fromID); err != nil { // store/consent.go
		return MergeResult{}, err
	}
	if err := moveWaitingTriggers(tx, intoID, fromID); err != nil { // store/outbound.go
		return MergeResult{}, err
	}
	if err := dropLinkState(tx, fromID); err != nil {
		return MergeResult{}, err
	}
	if err := putJSON(merges, u64(mid), rec); err != nil {
		return MergeResult{}, err
	}
	ev, err := prepareEvent(Event{Type: "contact_merged", ContactID: intoID,
		Data: map[string]string{"from": fromID, "merge": fmt.Sprint(mid), "reason": opts.Reason}}, now)
	if err != nil {
		return MergeResult{}, err
	}
	if err := putEvents(tx, []preparedEvent{ev}); err != nil {
		return MergeResult{}, err
	}
	return MergeResult{Record: rec, Contact: into, Moved: moved}, nil
}

// moveTickets re-owns from's tickets and returns their ids.
func moveTickets(tx *bolt.Tx, intoID, fromID string) ([]uint64, error) {
	ids := ticketsOf(tx, fromID)
	for _, n := range ids {
		if err := reownTicket(tx, n, fromID, intoID); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// ticketsOf lists a contact's ticket ids from the per-contact index.
func ticketsOf(tx *bolt.Tx, cid string) []uint64 {
	var ids []uint64
	c := tx.Bucket(bTicketContact).Cursor()
	for k, _ := c.Seek(ticketContactKey(cid, 0)); k != nil; k, _ = c.Next() {
		id, n, ok := splitComposite(k)
		if !ok || id != cid {
			break
		}
		ids = append(ids, n)
	}
	return ids
}

// reownTicket moves ticket n from one contact to another with its indexes.
func reownTicket(tx *bolt.Tx, n uint64, fromID, toID string) error {
	idx, open := tx.Bucket(bTicketContact), tx.Bucket(bTicketOpen)
	t, err := getTicket(tx, n)
	if err != nil {
		return err
	}
	t.ContactID = toID
	if err := putJSON(tx.Bucket(bTickets), u64(n), t); err != nil {
		return err
	}
	if err := idx.Delete(ticketContactKey(fromID, n)); err != nil {
		return err
	}
	if err := idx.Put(ticketContactKey(toID, n), nil); err != nil {
		return err
	}
	if t.Status != TicketResolved {
		if other := open.Get([]byte(toID)); other != nil && be64(other) != n {
			return fmt.Errorf("store: move ticket %d to %q: it has ticket %d open: %w", n, toID, be64(other), ErrTicketOpen)
		}
		if err := open.Put([]byte(toID), u64(n)); err != nil {
			return err
		}
		if cur := open.Get([]byte(fromID)); cur != nil && be64(cur) == n {
			return open.Delete([]byte(fromID))
		}
	}
	return nil
}

// moveInbox re-owns from's pending inbox entries and returns them.
func moveInbox(tx *bolt.Tx, intoID, fromID string) ([]InboxEntry, error) {
	b := tx.Bucket(bInbox)
	var moved []InboxEntry
	err := b.ForEach(func(k, v []byte) error {
		var e InboxEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("store: inbox entry %d: %w", be64(k), err)
		}
		if e.ContactID != fromID {
			return nil
		}
		e.Seq, e.ContactID = be64(k), intoID
		moved = append(moved, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range moved {
		if err := putJSON(b, u64(e.Seq), e); err != nil {
			return nil, err
		}
	}
	return moved, nil
}

// moveOutbox re-owns the outbox entries pick selects; the queue is short.
func moveOutbox(tx *bolt.Tx, toID string, pick func(OutboxEntry) bool) (int, error) {
	b := tx.Bucket(bOutbox)
	var moved []OutboxEntry
	err := b.ForEach(func(k, v []byte) error {
		o, err := decodeOutbox(k, v)
		if err != nil {
			return err
		}
		if pick(o) {
			moved = append(moved, o)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, o := range moved {
		o.ContactID = toID
		if err := putJSON(b, u64(o.ID), o); err != nil {
			return 0, err
		}
	}
	return len(moved), nil
}

// ErrUndo: the merge cannot be undone as things stand now (already undone,
// or a later merge or erasure involves its contacts); the message says why.
var ErrUndo = errors.New("store: merge cannot be undone")

// UndoMerge splits a merge back, in one transaction. The rule (documented
// in docs/contacts.md):
//
//   - the absorbed contact is restored under its old id with its name, lang,
//     fields and session as they were at the merge, and gets back those of
//     its identities the survivor still owns;
//   - a history message goes back when it came through this merge
//     (Message.Via ends with its id), or when it was written after the
//     merge on one of the restored identities; both histories stay in time
//     order and are renumbered;
//   - the absorbed contact's tickets go back (with the open one, if any), as
//     do pending replies addressed to restored identities;
//   - the survivor loses the name, lang and fields it gained by the merge,
//     unless they were changed since; everything else it keeps (including
//     its session: variables learned from the absorbed side stay);
//   - a "contact_unmerged" event is recorded and the record marked undone.
//
// Undo the merges of a contact newest first: a merge whose survivor was
// later absorbed, or whose absorbed id exists again, is refused with ErrUndo.
func (db *DB) UndoMerge(ctx context.Context, mergeID uint64, by string) (MergeRecord, error) {
	now := db.now()
	var out MergeRecord
	err := db.write(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = undoMergeTx(tx, mergeID, by, now)
		return err
	})
	return out, err
}

func undoMergeTx(tx *bolt.Tx, mergeID uint64, by string, now time.Time) (MergeRecord, error) {
	merges := tx.Bucket(bMerges)
	rec, err := getMerge(tx, mergeID)
	if err != nil {
		return rec, err
	}
	fromID := rec.From.ID
	fail := func(format string, args ...any) (MergeRecord, error) {
		return rec, fmt.Errorf("store: undo merge %d: "+format+": %w", append([]any{mergeID}, append(args, ErrUndo)...)...)
	}
	switch {
	case rec.Undone():
		return fail("already undone at %s", rec.UndoneAt.Format(time.RFC3339))
	case tx.Bucket(bContacts).Get([]byte(fromID)) != nil:
		return fail("contact %q exists again", fromID)
	}
	into, err := getContact(tx, rec.IntoID)
	if errors.Is(err, ErrNotFound) {
		return fail("contact %q no longer exists (merged away or forgotten); undo the later merge first", rec.IntoID)
	} else if err != nil {
		return rec, err
	}
	ids := tx.Bucket(bIdentities)
	var back []string
	for _, identity := range rec.From.Identities {
		if string(ids.Get([]byte(identity))) == into.ID {
			back = append(back, identity)
		}
	}
	keep := slices.DeleteFunc(slices.Clone(into.Identities), func(s string) bool { return slices.Contains(back, s) })
	switch {
	case len(back) == 0:
		return fail("none of %q's identities belongs to %q any more", fromID, into.ID)
	case len(keep) == 0:
		return fail("%q would be left without identities", into.ID)
	}

	// History.
	all, err := loadHistory(tx, into.ID)
	if err != nil {
		return rec, err
	}
	var stay, home []Message
	for _, m := range all {
		switch {
		case len(m.Via) > 0 && m.Via[len(m.Via)-1] == mergeID:
			m.Via = slices.Clone(m.Via[:len(m.Via)-1])
			if len(m.Via) == 0 {
				m.Via = nil
			}
			home = append(home, m)
		case len(m.Via) == 0 && !m.At.Before(rec.At) && slices.Contains(back, m.Address):
			home = append(home, m)
		default:
			stay = append(stay, m)
		}
	}
	if err := rewriteHistory(tx, into.ID, stay); err != nil {
		return rec, err
	}

	// The absorbed contact, its identities and session.
	from := rec.From
	from.Identities = back
	// The identities going back take what their channels said since.
	from.Profiles = nil
	into.Profiles, from.Profiles = moveProfiles(into.Profiles, nil, back)
	from.UpdatedAt = now
	from.Rev++
	if err := putJSON(tx.Bucket(bContacts), []byte(fromID), from); err != nil {
		return rec, err
	}
	for _, identity := range back {
		if err := ids.Put([]byte(identity), []byte(fromID)); err != nil {
			return rec, err
		}
	}
	if err := rewriteHistory(tx, fromID, home); err != nil {
		return rec, err
	}
	if rec.FromSession != nil {
		if err := tx.Bucket(bSessions).Put([]byte(fromID), rec.FromSession); err != nil {
			return rec, err
		}
	}
	// Events recognised since the merge may be redelivered to either side.
	if err := mergeRings(tx, fromID, into.ID, false); err != nil {
		return rec, err
	}

	// Tickets and pending replies.
	for _, n := range rec.Tickets {
		t, err := getTicket(tx, n)
		if errors.Is(err, ErrNotFound) || (err == nil && t.ContactID != into.ID) {
			continue // erased or moved on since: not ours to move
		} else if err != nil {
			return rec, err
		}
		if err := reownTicket(tx, n, into.ID, fromID); err != nil {
			return rec, err
		}
	}
	if _, err := moveOutbox(tx, fromID, func(o OutboxEntry) bool {
		return o.ContactID == into.ID && slices.Contains(back, o.Address)
	}); err != nil {
		return rec, err
	}

	// The survivor loses what it gained, where unchanged since.
	into.Identities = keep
	if rec.GainedName != "" && into.Name == rec.GainedName {
		into.Name = ""
	}
	if rec.GainedLang != "" && into.Lang == rec.GainedLang {
		into.Lang = ""
	}
	for k, v := range rec.GainedFields {
		if into.Fields[k] == v {
			delete(into.Fields, k)
		}
	}
	if len(into.Fields) == 0 {
		into.Fields = nil
	}
	into.UpdatedAt = now
	into.Rev++
	if err := putJSON(tx.Bucket(bContacts), []byte(into.ID), into); err != nil {
		return rec, err
	}

	rec.UndoneAt, rec.UndoneBy = now, by
	if err := putJSON(merges, u64(mergeID), rec); err != nil {
		return rec, err
	}
	ev, err := prepareEvent(Event{Type: "contact_unmerged", ContactID: into.ID,
		Data: map[string]string{"from": fromID, "merge": fmt.Sprint(mergeID), "by": by}}, now)
	if err != nil {
		return rec, err
	}
	return rec, putEvents(tx, []preparedEvent{ev})
}

func getMerge(tx *bolt.Tx, id uint64) (MergeRecord, error) {
	var rec MergeRecord
	v := tx.Bucket(bMerges).Get(u64(id))
	if v == nil {
		return rec, fmt.Errorf("store: merge %d: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("store: merge %d: %w", id, err)
	}
	rec.ID = id
	return rec, nil
}

// MergeRecordByID returns merge id.
func (db *DB) MergeRecordByID(id uint64) (MergeRecord, error) {
	var rec MergeRecord
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		rec, err = getMerge(tx, id)
		return err
	})
	return rec, err
}

// Merges returns the merges a contact took part in, as survivor or as the
// absorbed one, oldest first. The merges bucket is scanned: merges are rare.
func (db *DB) Merges(contactID string) ([]MergeRecord, error) {
	var out []MergeRecord
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		out, err = mergesOf(tx, map[string]bool{contactID: true})
		return err
	})
	return out, err
}

// mergesOf returns the merge records whose survivor or absorbed contact is
// in ids.
func mergesOf(tx *bolt.Tx, ids map[string]bool) ([]MergeRecord, error) {
	var out []MergeRecord
	err := tx.Bucket(bMerges).ForEach(func(k, v []byte) error {
		var rec MergeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("store: merge %d: %w", be64(k), err)
		}
		rec.ID = be64(k)
		if ids[rec.IntoID] || ids[rec.From.ID] {
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}
