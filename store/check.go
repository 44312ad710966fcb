package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// maxCheckErrors bounds the report of a badly damaged file.
const maxCheckErrors = 50

// Check verifies the file (bbolt's page-level consistency check) and the
// store's own invariants: schema version; every identity points to an
// existing contact that lists it and back; history keys well formed, per
// contact dense from 1 and decodable; sessions, inbox and outbox entries and
// tickets belong to existing contacts; the open-ticket index holds exactly
// the non-resolved tickets, at most one per contact; the per-contact ticket,
// agent-name and dedupe-time indexes match their records; tickets of a
// forgotten contact carry an anonymous id (AnonPrefix) and no address;
// merge records decode and name a survivor, and a message's last Via is a
// live merge into its contact; link codes and attempt counters belong to
// existing contacts. It runs in one
// read transaction: use it in tests and offline tools, not on a hot path.
func (db *DB) Check() error {
	var errs []error
	add := func(format string, args ...any) {
		if len(errs) < maxCheckErrors {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	err := db.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			add("bbolt: %v", err)
		}
		if v := schemaOf(tx); v != SchemaVersion() {
			add("schema version %d, want %d", v, SchemaVersion())
			return nil
		}
		for _, name := range [][]byte{bMeta, bContacts, bIdentities, bSessions, bMessages, bEvents, bInbox,
			bDedupe, bDedupeTime, bOutbox, bTickets, bTicketOpen, bTicketContact, bAgents, bAgentNames,
			bMerges, bLinkCodes, bLinkAttempts, bConsoleSessions} {
			if tx.Bucket(name) == nil {
				add("bucket %s missing", name)
			}
		}
		if len(errs) > 0 {
			return nil
		}
		checkContacts(tx, add)
		checkHistory(tx, add)
		checkOwned(tx, add)
		checkDedupe(tx, add)
		checkTickets(tx, add)
		checkConsoleSessions(tx, add)
		checkAgents(tx, add)
		checkLinks(tx, add)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: check %s: %w", db.path, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("store: check %s: %w", db.path, errors.Join(errs...))
	}
	return nil
}

type addFunc func(format string, args ...any)

func checkContacts(tx *bolt.Tx, add addFunc) {
	ids := tx.Bucket(bIdentities)
	_ = tx.Bucket(bContacts).ForEach(func(k, v []byte) error {
		var c Contact
		if err := json.Unmarshal(v, &c); err != nil {
			add("contact %q: %v", k, err)
			return nil
		}
		if c.ID != string(k) {
			add("contact %q: stored id %q", k, c.ID)
		}
		if len(c.Identities) == 0 {
			add("contact %q: no identities", k)
		}
		for _, identity := range c.Identities {
			if owner := ids.Get([]byte(identity)); string(owner) != string(k) {
				add("contact %q lists identity %q, which points to %q", k, identity, owner)
			}
		}
		return nil
	})
	contacts := tx.Bucket(bContacts)
	_ = ids.ForEach(func(k, v []byte) error {
		c, err := getContact(tx, string(v))
		switch {
		case contacts.Get(v) == nil:
			add("identity %q points to missing contact %q", k, v)
		case err != nil:
			// reported above
		case !slices.Contains(c.Identities, string(k)):
			add("identity %q points to contact %q, which does not list it", k, v)
		}
		return nil
	})
}

// checkOwned checks that per-contact records have an existing contact.
func checkOwned(tx *bolt.Tx, add addFunc) {
	contacts := tx.Bucket(bContacts)
	_ = tx.Bucket(bSessions).ForEach(func(k, v []byte) error {
		id, aux := auxKey(k)
		switch {
		case !aux:
			if contacts.Get(k) == nil {
				add("session of missing contact %q", k)
			}
		case isHeadKey(k):
			// checkHistory's
		case bytes.Equal(k, ringKey(id)):
			if contacts.Get([]byte(id)) == nil {
				add("event ring of missing contact %q", id)
			}
			checkRing(k, v, add)
		default:
			add("sessions key %q: unknown kind", k)
		}
		return nil
	})
	_ = tx.Bucket(bInbox).ForEach(func(k, v []byte) error {
		var e InboxEntry
		if len(k) != 8 {
			add("inbox key %x: malformed", k)
		} else if err := json.Unmarshal(v, &e); err != nil {
			add("inbox entry %d: %v", be64(k), err)
		} else if contacts.Get([]byte(e.ContactID)) == nil {
			add("inbox entry %d of missing contact %q", be64(k), e.ContactID)
		}
		return nil
	})
	_ = tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			add("outbox key %x: malformed", k)
		} else if o, err := decodeOutbox(k, v); err != nil {
			add("%v", err)
		} else if contacts.Get([]byte(o.ContactID)) == nil {
			add("outbox entry %d of missing contact %q", o.ID, o.ContactID)
		}
		return nil
	})
	_ = tx.Bucket(bEvents).ForEach(func(k, v []byte) error {
		if len(k) != 16 {
			add("event key %x: malformed", k)
			return nil
		}
		evs, err := decodeEvents(v)
		if err != nil {
			add("event %d: %v", be64(k[8:]), err)
		} else if len(evs) == 0 {
			add("event %d: an empty record", be64(k[8:]))
		}
		for _, e := range evs {
			if !bytes.Equal(k[:8], timeKey(e.At)) {
				add("event %d: key time differs from At %v", be64(k[8:]), e.At)
			}
		}
		return nil
	})
}

func checkDedupe(tx *bolt.Tx, add addFunc) {
	dd, idx := tx.Bucket(bDedupe), tx.Bucket(bDedupeTime)
	_ = dd.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			add("dedupe key %q: value of %d bytes", k, len(v))
		} else if idx.Get(dedupeTimeKey(v, k)) == nil {
			add("dedupe key %q: not in the time index", k)
		}
		return nil
	})
	_ = idx.ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			add("dedupe time key %x: malformed", k)
		} else if v := dd.Get(k[8:]); !bytes.Equal(v, k[:8]) {
			add("dedupe time index entry %q: no matching dedupe key", k[8:])
		}
		return nil
	})
}

func checkTickets(tx *bolt.Tx, add addFunc) {
	contacts, open, byContact := tx.Bucket(bContacts), tx.Bucket(bTicketOpen), tx.Bucket(bTicketContact)
	openSeen := map[string]uint64{}
	_ = tx.Bucket(bTickets).ForEach(func(k, v []byte) error {
		id := be64(k)
		var t Ticket
		if err := json.Unmarshal(v, &t); err != nil {
			add("ticket %d: %v", id, err)
			return nil
		}
		t.ID = id
		if err := validTicket(&t); err != nil {
			add("%v", err)
		}
		switch {
		case isAnon(t.ContactID):
			if t.Address != "" || t.Status != TicketResolved {
				add("ticket %d of forgotten contact %q: address %q, status %s", id, t.ContactID, t.Address, t.Status)
			}
		case contacts.Get([]byte(t.ContactID)) == nil:
			add("ticket %d of missing contact %q", id, t.ContactID)
		}
		if byContact.Get(ticketContactKey(t.ContactID, id)) == nil {
			add("ticket %d: not in the per-contact index", id)
		}
		if t.Status != TicketResolved {
			if prev, dup := openSeen[t.ContactID]; dup {
				add("contact %q has two open tickets: %d and %d", t.ContactID, prev, id)
			}
			openSeen[t.ContactID] = id
			if got := open.Get([]byte(t.ContactID)); got == nil || be64(got) != id {
				add("open ticket %d is not the open-ticket index entry of %q", id, t.ContactID)
			}
		}
		return nil
	})
	_ = open.ForEach(func(k, v []byte) error {
		if len(v) != 8 || openSeen[string(k)] != be64(v) {
			add("open-ticket index of %q points to %x, which is not an open ticket of that contact", k, v)
		}
		return nil
	})
	tickets := tx.Bucket(bTickets)
	_ = byContact.ForEach(func(k, _ []byte) error {
		id, n, ok := splitComposite(k)
		if !ok {
			add("ticket index key %x: malformed", k)
			return nil
		}
		if t, err := getTicket(tx, n); tickets.Get(u64(n)) == nil || (err == nil && t.ContactID != id) {
			add("ticket index entry %q/%d: no such ticket of that contact", id, n)
		}
		return nil
	})
}

func checkAgents(tx *bolt.Tx, add addFunc) {
	names := tx.Bucket(bAgentNames)
	n := 0
	_ = tx.Bucket(bAgents).ForEach(func(k, v []byte) error {
		n++
		var r agentRecord
		if err := json.Unmarshal(v, &r); err != nil {
			add("agent %q: %v", k, err)
		} else if r.ID != string(k) {
			add("agent %q: stored id %q", k, r.ID)
		} else if owner := names.Get([]byte(strings.ToLower(r.Name))); string(owner) != string(k) {
			add("agent %q: name %q points to %q", k, r.Name, owner)
		}
		return nil
	})
	if names.Stats().KeyN != n {
		add("agent name index has %d entries for %d agents", names.Stats().KeyN, n)
	}
}

func checkLinks(tx *bolt.Tx, add addFunc) {
	contacts := tx.Bucket(bContacts)
	_ = tx.Bucket(bMerges).ForEach(func(k, v []byte) error {
		var rec MergeRecord
		if len(k) != 8 {
			add("merge key %x: malformed", k)
		} else if err := json.Unmarshal(v, &rec); err != nil {
			add("merge %d: %v", be64(k), err)
		} else if rec.IntoID == "" || rec.From.ID == "" || rec.IntoID == rec.From.ID {
			add("merge %d: survivor %q, absorbed %q", be64(k), rec.IntoID, rec.From.ID)
		}
		return nil
	})
	_ = tx.Bucket(bLinkCodes).ForEach(func(k, v []byte) error {
		var lc LinkCode
		if err := json.Unmarshal(v, &lc); err != nil {
			add("link code %x: %v", k[:4], err)
		} else if contacts.Get([]byte(lc.ContactID)) == nil {
			add("link code %x of missing contact %q", k[:4], lc.ContactID)
		}
		return nil
	})
	_ = tx.Bucket(bLinkAttempts).ForEach(func(k, _ []byte) error {
		if contacts.Get(k) == nil {
			add("link attempts of missing contact %q", k)
		}
		return nil
	})
}
