package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// AnonPrefix starts the id that replaces a forgotten contact's id in the
// records kept for accounting (tickets, analytics events). No contact record
// exists for such an id.
const AnonPrefix = "x_"

// redacted replaces erased free text in kept records.
const redacted = "[erased]"

// ContactExport is everything the store holds about one contact, for
// `parley contacts export` (a data subject's access request).
type ContactExport struct {
	Contact Contact `json:"contact"`
	// Session is the flow session state as stored (JSON of the runtime).
	Session json.RawMessage `json:"session,omitempty"`
	History []Message       `json:"history"`
	Tickets []Ticket        `json:"tickets"`
	Events  []Event         `json:"events"`
	// Merges are the merges the contact took part in (with snapshots of
	// the absorbed contacts).
	Merges []MergeRecord  `json:"merges"`
	Inbox  []InboxEntry   `json:"inbox"`
	Outbox []OutboxEntry  `json:"outbox"`
	Links  []LinkCodeInfo `json:"link_codes"`
	// Files are the attachments of the conversation, with their bytes.
	Files []FileExport `json:"files"`
	// ContactIDs are the contact and the contacts merged into it, directly
	// or through others: one person, whose records are all exported (the
	// same ids ForgetContact erases).
	ContactIDs []string `json:"contact_ids"`
	// Consent is the contact's marketing consent per channel (consent.go).
	Consent []Consent `json:"consent"`
}

// LinkCodeInfo is a live link code without the code (only its hash is kept).
type LinkCodeInfo struct {
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ExportContact collects everything stored about contact id. Events are
// found by scanning the event log in short read transactions.
func (db *DB) ExportContact(id string) (ContactExport, error) {
	var out ContactExport
	var ids map[string]bool
	err := db.view(func(tx *bolt.Tx) error {
		c, err := getContact(tx, id)
		if err != nil {
			return err
		}
		out.Contact = c
		var recs []MergeRecord
		if ids, recs, err = personIDs(tx, id); err != nil {
			return err
		}
		out.ContactIDs, out.Merges = slices.Sorted(maps.Keys(ids)), recs
		if s := tx.Bucket(bSessions).Get([]byte(id)); s != nil {
			if json.Valid(s) {
				out.Session = json.RawMessage(bytes.Clone(s))
			} else {
				out.Session, _ = json.Marshal(s) // opaque bytes: base64
			}
		}
		if out.History, err = loadHistory(tx, id); err != nil {
			return err
		}
		for _, cid := range out.ContactIDs {
			for _, n := range ticketsOf(tx, cid) {
				t, err := getTicket(tx, n)
				if err != nil {
					return err
				}
				out.Tickets = append(out.Tickets, t)
			}
		}
		if err := tx.Bucket(bInbox).ForEach(func(k, v []byte) error {
			var e InboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("store: inbox entry %d: %w", be64(k), err)
			}
			if ids[e.ContactID] {
				e.Seq = be64(k)
				out.Inbox = append(out.Inbox, e)
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			o, err := decodeOutbox(k, v)
			if err == nil && ids[o.ContactID] {
				out.Outbox = append(out.Outbox, o)
			}
			return err
		}); err != nil {
			return err
		}
		if out.Files, err = filesOfPerson(tx, ids, true); err != nil {
			return err
		}
		return tx.Bucket(bLinkCodes).ForEach(func(_, v []byte) error {
			var lc LinkCode
			if json.Unmarshal(v, &lc) == nil && ids[lc.ContactID] {
				out.Links = append(out.Links, LinkCodeInfo{Kind: lc.Kind, ExpiresAt: lc.ExpiresAt})
			}
			return nil
		})
	})
	if err != nil {
		return ContactExport{}, err
	}
	if out.Consent, err = db.Consents(id); err != nil {
		return ContactExport{}, err
	}
	out.Consent = nonNil(out.Consent)
	err = scanChunks(db, bEvents, nil, nil, func(_, v []byte) error {
		evs, err := decodeEvents(v)
		if err != nil {
			return fmt.Errorf("store: event: %w", err)
		}
		for _, e := range evs {
			if ids[e.ContactID] {
				out.Events = append(out.Events, e)
			}
		}
		return nil
	})
	for _, s := range []*[]Message{&out.History} {
		if *s == nil {
			*s = []Message{}
		}
	}
	out.Tickets = nonNil(out.Tickets)
	out.Events = nonNil(out.Events)
	out.Merges = nonNil(out.Merges)
	out.Inbox = nonNil(out.Inbox)
	out.Outbox = nonNil(out.Outbox)
	out.Links = nonNil(out.Links)
	out.Files = nonNil(out.Files)
	return out, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ForgetResult reports what ForgetContact erased.
type ForgetResult struct {
	ContactID string `json:"contact_id"`
	// Anonymous is the id that now stands for the contact in the tickets
	// and analytics events that were kept.
	Anonymous  string   `json:"anonymous_id"`
	Identities []string `json:"identities"`
	Messages   int      `json:"messages"`
	Tickets    int      `json:"tickets_anonymised"`
	TicketIDs  []uint64 `json:"ticket_ids,omitempty"` // the anonymised tickets, for live views
	Events     int      `json:"events_anonymised"`
	Merges     int      `json:"merge_records"`
	Queued     int      `json:"inbox_outbox_entries"`
	Files      int      `json:"files"`
	// ContactIDs are the ids erased: the contact and those merged into it
	// (ContactExport.ContactIDs).
	ContactIDs []string `json:"contact_ids"`
}

// ForgetContact erases a contact (a data subject's erasure request), in one
// transaction: the contact, its identities, session, history, attachments
// (files.go), pending inbox and outbox entries, link codes, the dedupe keys of its identities, and the
// merge records that hold it or contacts merged into it. What is kept for
// accounting is anonymised: tickets get the id AnonPrefix+random instead of
// the contact's, lose their address, variables, summary, evidence and note
// texts, and are resolved if open; analytics events get the same id, values
// naming the contact or its identities replaced, and error texts erased. A
// "contact_forgotten" event records who asked (by).
//
// A reason is kept only when it is a label ("negative"); a free-text one
// (a flow's templated reason may quote the customer) is erased like notes.
// The contact and the contacts merged into it are one person: personIDs
// decides which ids, for ExportContact too.
//
// bbolt reuses freed pages but does not overwrite them: erased text stays
// in the live file's free pages until they are reused. Backups never carry
// it (Backup copies live data only); for physical erasure in the file
// itself compact it (CompactFile; `parley contacts forget` does).
func (db *DB) ForgetContact(ctx context.Context, id, by string) (ForgetResult, error) {
	if err := validContactID(id); err != nil {
		return ForgetResult{}, err
	}
	now := db.now()
	anon := newID(AnonPrefix, now)
	var res ForgetResult
	err := db.write(ctx, func(tx *bolt.Tx) error {
		res = ForgetResult{ContactID: id, Anonymous: anon}
		c, err := getContact(tx, id)
		if err != nil {
			return err
		}
		res.Identities = slices.Clone(c.Identities)
		ids, recs, err := personIDs(tx, id)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := tx.Bucket(bMerges).Delete(u64(r.ID)); err != nil {
				return err
			}
		}
		res.Merges, res.ContactIDs = len(recs), slices.Sorted(maps.Keys(ids))
		names := map[string]bool{}
		for k := range ids {
			names[k] = true
		}
		for _, identity := range c.Identities {
			names[identity] = true
			if err := tx.Bucket(bIdentities).Delete([]byte(identity)); err != nil {
				return err
			}
			if err := dropDedupe(tx, identity+"|"); err != nil {
				return err
			}
		}
		msgs, err := loadHistory(tx, id)
		if err != nil {
			return err
		}
		res.Messages = len(msgs)
		if err := rewriteHistory(tx, id, nil); err != nil {
			return err
		}
		for _, b := range [][]byte{bSessions, bContacts, bTicketOpen} {
			if err := tx.Bucket(b).Delete([]byte(id)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bSessions).Delete(ringKey(id)); err != nil {
			return err
		}
		if err := dropLinkState(tx, id); err != nil {
			return err
		}
		if err := dropOutboundState(tx, ids); err != nil { // store/outbound.go
			return err
		}
		if res.Queued, err = dropQueued(tx, ids); err != nil {
			return err
		}
		if res.Files, err = dropFiles(tx, ids); err != nil {
			return err
		}
		for _, cid := range res.ContactIDs {
			for _, n := range ticketsOf(tx, cid) {
				if err := anonymiseTicket(tx, n, cid, anon, now); err != nil {
					return err
				}
				res.Tickets++
				res.TicketIDs = append(res.TicketIDs, n)
			}
		}
		if res.Events, err = anonymiseEvents(tx, ids, names, anon); err != nil {
			return err
		}
		ev, err := prepareEvent(Event{Type: "contact_forgotten", ContactID: anon, Data: map[string]string{"by": by}}, now)
		if err != nil {
			return err
		}
		return putEvents(tx, []preparedEvent{ev})
	})
	if err != nil {
		return ForgetResult{}, err
	}
	return res, nil
}

// dropDedupe deletes the dedupe keys that start with prefix (the runtime's
// keys are "<identity>|<event id>") and their time-index entries.
func dropDedupe(tx *bolt.Tx, prefix string) error {
	dd, idx := tx.Bucket(bDedupe), tx.Bucket(bDedupeTime)
	var keys, times [][]byte
	c := dd.Cursor()
	for k, v := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		times = append(times, dedupeTimeKey(bytes.Clone(v), bytes.Clone(k)))
	}
	for i := range keys {
		if err := dd.Delete(keys[i]); err != nil {
			return err
		}
		if err := idx.Delete(times[i]); err != nil {
			return err
		}
	}
	return nil
}

// personIDs is the contact id and the ids of the contacts merged into it,
// directly or through one another (not undone): one person, for export and
// erasure alike. recs are the merge records that name any of them.
func personIDs(tx *bolt.Tx, id string) (map[string]bool, []MergeRecord, error) {
	ids := map[string]bool{id: true}
	for {
		recs, err := mergesOf(tx, ids)
		if err != nil {
			return nil, nil, err
		}
		grew := false
		for _, r := range recs {
			if r.IntoID != "" && ids[r.IntoID] && !r.Undone() && !ids[r.From.ID] {
				ids[r.From.ID], grew = true, true
			}
		}
		if !grew {
			return ids, recs, nil
		}
	}
}

// isLabel reports whether a reason is a label a flow or the runtime chose
// ("negative", "complaint_delivery") rather than free text, which a
// templated reason can be and which may quote the customer.
func isLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && !strings.ContainsRune("_-.:", rune(c)) {
			return false
		}
	}
	return true
}

// dropQueued deletes the inbox and outbox entries of the contacts in ids.
func dropQueued(tx *bolt.Tx, ids map[string]bool) (int, error) {
	n := 0
	for _, name := range [][]byte{bInbox, bOutbox} {
		b := tx.Bucket(name)
		var drop [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var e struct {
				ContactID string `json:"contact_id"`
			}
			if json.Unmarshal(v, &e) == nil && ids[e.ContactID] {
				drop = append(drop, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, k := range drop {
			if err := b.Delete(k); err != nil {
				return n, err
			}
		}
		n += len(drop)
	}
	return n, nil
}

func anonymiseTicket(tx *bolt.Tx, n uint64, id, anon string, now time.Time) error {
	t, err := getTicket(tx, n)
	if err != nil {
		return err
	}
	t.ContactID, t.Address, t.Vars, t.Evidence = anon, "", nil, nil
	if t.Reason != "" && !isLabel(t.Reason) {
		t.Reason = redacted
	}
	if t.Summary != "" {
		t.Summary = redacted
	}
	for i := range t.Notes {
		t.Notes[i].Text = redacted
	}
	if t.Status != TicketResolved {
		t.Status = TicketResolved
		if t.ResolvedAt.IsZero() {
			t.ResolvedAt = now
		}
		if t.Outcome == "" {
			t.Outcome = "end"
		}
	}
	if err := putJSON(tx.Bucket(bTickets), u64(n), t); err != nil {
		return err
	}
	idx := tx.Bucket(bTicketContact)
	if err := idx.Delete(ticketContactKey(id, n)); err != nil {
		return err
	}
	return idx.Put(ticketContactKey(anon, n), nil)
}

// anonymiseEvents rewrites the events of the contacts in ids: the contact
// id and any value naming one of names become anon, error texts are erased.
func anonymiseEvents(tx *bolt.Tx, ids, names map[string]bool, anon string) (int, error) {
	b := tx.Bucket(bEvents)
	type kv struct{ k, v []byte }
	var changed []kv
	n := 0
	err := b.ForEach(func(k, v []byte) error {
		evs, err := decodeEvents(v)
		if err != nil {
			return fmt.Errorf("store: event %d: %w", be64(k[8:]), err)
		}
		hit := 0
		for i := range evs {
			e := &evs[i]
			if !ids[e.ContactID] {
				continue
			}
			hit++
			e.ContactID = anon
			for key, val := range e.Data {
				switch {
				case names[val]:
					e.Data[key] = anon
				case key == "error" || key == "address" || key == "text" || key == "note" || key == "comment":
					e.Data[key] = redacted
				case key == "reason" && !isLabel(val):
					e.Data[key] = redacted
				}
			}
		}
		if hit == 0 {
			return nil
		}
		n += hit
		var data []byte
		if v[0] == '[' {
			data, err = json.Marshal(evs)
		} else {
			data, err = json.Marshal(evs[0])
		}
		if err != nil {
			return err
		}
		changed = append(changed, kv{bytes.Clone(k), data})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, c := range changed {
		if err := b.Put(c.k, c.v); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// CompactFile rewrites the store file at path into a fresh file holding
// only live data, then replaces path with it: freed pages, and whatever
// erased text they still held, are gone. It needs the file to itself
// (ErrLocked while a server holds it). The old file is replaced atomically
// by a rename; a crash leaves either the old file or the new one.
func CompactFile(path string) (before, after int64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: defaultTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return 0, 0, fmt.Errorf("store: compact %s: %w", path, ErrLocked)
		}
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	defer src.Close()
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: defaultTimeout})
	if err != nil {
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	nst, err := os.Stat(tmp)
	if err != nil {
		return 0, 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the rename durable
		d.Close()
	}
	return st.Size(), nst.Size(), nil
}

// isAnon reports whether a ticket's contact id is an erased contact's.
func isAnon(id string) bool { return strings.HasPrefix(id, AnonPrefix) }
