package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Source is what CopyFromBolt reads: a *store.DB opened read-only, with its
// server stopped, so nothing changes while it is copied.
type Source interface {
	EachContact(fn func(store.Contact) error) error
	Session(contactID string) ([]byte, error)
	History(contactID string, afterSeq uint64, limit int) ([]store.Message, error)
	EachMerge(fn func(store.MergeRecord) error) error
	EachLinkCode(fn func(hash []byte, lc store.LinkCode) error) error
	Events(from, to time.Time, fn func(store.Event) error) error
	PendingInbox() ([]store.InboxEntry, error)
	PendingOutbox() ([]store.OutboxEntry, error)
	Tickets(status string) ([]store.Ticket, error)
	Agents() ([]store.Agent, error)
	ConsoleSessions() ([]store.ConsoleSession, error)
	Positions() (map[string]string, error)
	SavedReplies() ([]store.SavedReply, error)
	Cascades() ([]store.CascadeRecord, error)
	EachAPIKey(fn func(hash []byte, k store.APIKey) error) error
	EachConsent(fn func(contactID string, c store.Consent) error) error
	EachFile(fn func(f store.File, data []byte) error) error
	EachIdempotent(fn func(store.Idempotent) error) error
	WaitingTriggers() ([]store.WaitingTrigger, error)
}

// CopyReport counts what CopyFromBolt copied and lists what it did not.
type CopyReport struct {
	Contacts, Identities, Sessions, Messages, Events int
	Inbox, Outbox, Tickets, Agents, ConsoleSessions  int
	Positions, Merges, LinkCodes                     int
	SavedReplies, Cascades, APIKeys, Consents        int
	Files, IdempotencyKeys, WaitingTriggers          int
	Sampled                                          int // contacts compared field by field after the copy
	NotCopied                                        []string
}

func (r CopyReport) String() string {
	return fmt.Sprintf("%d contacts (%d identities), %d sessions, %d messages, %d events, %d inbox, %d outbox, "+
		"%d tickets, %d agents, %d console sessions, %d positions, %d merge records, %d link codes, "+
		"%d saved replies, %d cascades, %d API keys, %d consent records, %d files, %d idempotency keys, %d parked triggers; "+
		"%d contacts sampled and equal",
		r.Contacts, r.Identities, r.Sessions, r.Messages, r.Events, r.Inbox, r.Outbox, r.Tickets, r.Agents,
		r.ConsoleSessions, r.Positions, r.Merges, r.LinkCodes, r.SavedReplies, r.Cascades, r.APIKeys, r.Consents, r.Files, r.IdempotencyKeys, r.WaitingTriggers, r.Sampled)
}

// ErrNotEmpty: CopyFromBolt's destination already holds data.
var ErrNotEmpty = errors.New("postgres: the destination database is not empty")

// sampleEvery bounds the field-by-field check to about this many contacts.
const sampleContacts = 50

// CopyFromBolt copies src into the empty database db in one transaction
// (all or nothing), keeping ids, seqs and times (to the microsecond), then
// checks the copy: every table's count against the source, and a sample of
// contacts read back through db and compared with the source whole
// (contact, session, history, tickets).
//
// Not copied (said in the report): failed link attempts (a window of
// minutes) and the dedupe ring of recent channel event ids, which the bbolt
// store keeps as 8-byte hash prefixes (stop the channels' delivery during
// the move, or accept that an event redelivered right after it is
// processed twice).
func CopyFromBolt(ctx context.Context, src Source, db *DB) (CopyReport, error) {
	var rep CopyReport
	var contacts []store.Contact
	if err := src.EachContact(func(c store.Contact) error { contacts = append(contacts, c); return nil }); err != nil {
		return rep, err
	}
	err := db.tx(ctx, func(tx pgx.Tx) error {
		rep = CopyReport{}
		var n int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM contacts) + (SELECT count(*) FROM agents)
			+ (SELECT count(*) FROM tickets) + (SELECT count(*) FROM events)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w (%d rows in contacts, agents, tickets and events): copy into a new database", ErrNotEmpty, n)
		}
		var cRows, iRows, sRows [][]any
		for _, c := range contacts {
			cRows = append(cRows, []any{c.ID, c.Name, c.Lang, nullFields(c.Fields), pgTime(c.CreatedAt), pgTime(c.UpdatedAt), c.Rev})
			for i, id := range c.Identities {
				var profile any
				if p := c.Profiles[id]; len(p) > 0 {
					profile = p
				}
				iRows = append(iRows, []any{id, c.ID, i, profile})
			}
			s, err := src.Session(c.ID)
			if err != nil {
				return err
			}
			if s != nil {
				sRows = append(sRows, []any{c.ID, s})
			}
		}
		// History and events stream from the source into COPY, a contact
		// (or a chunk of events) at a time, never whole in memory.
		messages := func(yield func([]any, error) bool) {
			for _, c := range contacts {
				hist, err := src.History(c.ID, 0, 0)
				if err != nil {
					yield(nil, err)
					return
				}
				for _, m := range hist {
					var via any
					if len(m.Via) > 0 {
						via = m.Via
					}
					if !yield([]any{m.ContactID, m.Seq, m.Dir, m.Channel, m.Address, m.Text, m.Payload,
						jsonOrNil(m.Buttons), jsonOrNil(m.Attachments), m.Sender, m.SenderName, pgTime(m.At), via}, nil) {
						return
					}
				}
			}
		}
		copies := []struct {
			table string
			cols  []string
			rows  pgx.CopyFromSource
			count *int
		}{
			{"contacts", []string{"id", "name", "lang", "fields", "created_at", "updated_at", "rev"}, pgx.CopyFromRows(cRows), &rep.Contacts},
			{"identities", []string{"identity", "contact_id", "ord", "profile"}, pgx.CopyFromRows(iRows), &rep.Identities},
			{"sessions", []string{"contact_id", "state"}, pgx.CopyFromRows(sRows), &rep.Sessions},
			{"messages", []string{"contact_id", "seq", "dir", "channel", "address", "text", "payload", "buttons", "attachments",
				"sender", "sender_name", "at", "via"}, pull(messages), &rep.Messages},
		}
		// Events keep their seq; a turn's events (one seq) keep their order.
		events := func(yield func([]any, error) bool) {
			var lastSeq uint64
			idx := 0
			err := src.Events(time.Time{}, time.Time{}, func(e store.Event) error {
				if e.Seq == lastSeq {
					idx++
				} else {
					lastSeq, idx = e.Seq, 0
				}
				if !yield([]any{e.Seq, idx, pgTime(e.At), e.ContactID, e.Type, e.Flow, e.Node, jsonMapOrNil(e.Data)}, nil) {
					return errStopped
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopped) {
				yield(nil, err)
			}
		}
		in, err := src.PendingInbox()
		if err != nil {
			return err
		}
		var inRows [][]any
		for _, e := range in {
			inRows = append(inRows, []any{e.Seq, e.ContactID, e.EventKey, e.Data, pgTime(e.At)})
		}
		out, err := src.PendingOutbox()
		if err != nil {
			return err
		}
		var outRows [][]any
		for _, o := range out {
			outRows = append(outRows, []any{o.ID, o.ContactID, o.Address, nonNil(o.Data), o.Attempts, nullTime(o.NotBefore), pgTime(o.CreatedAt)})
		}
		tickets, err := src.Tickets("")
		if err != nil {
			return err
		}
		var tRows [][]any
		for _, t := range tickets {
			doc, err := json.Marshal(t)
			if err != nil {
				return err
			}
			tRows = append(tRows, []any{t.ID, doc})
		}
		agents, err := src.Agents()
		if err != nil {
			return err
		}
		var aRows [][]any
		for _, a := range agents {
			aRows = append(aRows, []any{a.ID, a.Name, strings.ToLower(a.Name), a.DisplayName, a.Role, a.PasswordHash, a.PasswordOneTime, pgTime(a.CreatedAt)})
		}
		cs, err := src.ConsoleSessions()
		if err != nil {
			return err
		}
		var csRows [][]any
		for _, s := range cs {
			csRows = append(csRows, []any{[]byte(s.Key), s.AgentID, s.CSRF, pgTime(s.Expires)})
		}
		pos, err := src.Positions()
		if err != nil {
			return err
		}
		var pRows [][]any
		for k, v := range pos {
			pRows = append(pRows, []any{k, v})
		}
		var mgRows [][]any
		if err := src.EachMerge(func(rec store.MergeRecord) error {
			doc, err := json.Marshal(rec)
			mgRows = append(mgRows, []any{rec.ID, doc})
			return err
		}); err != nil {
			return err
		}
		var lcRows [][]any
		if err := src.EachLinkCode(func(hash []byte, lc store.LinkCode) error {
			lcRows = append(lcRows, []any{hash, lc.ContactID, lc.Kind, pgTime(lc.ExpiresAt)})
			return nil
		}); err != nil {
			return err
		}
		replies, err := src.SavedReplies()
		if err != nil {
			return err
		}
		var srRows [][]any
		for _, r := range replies {
			r.UpdatedAt = pgTime(r.UpdatedAt)
			doc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			srRows = append(srRows, []any{r.ID, doc})
		}
		cascades, err := src.Cascades()
		if err != nil {
			return err
		}
		var caRows [][]any
		for _, c := range cascades {
			caRows = append(caRows, []any{c.ID, nonNil(c.Data)})
		}
		var akRows [][]any
		if err := src.EachAPIKey(func(hash []byte, k store.APIKey) error {
			k.CreatedAt, k.RevokedAt = pgTime(k.CreatedAt), pgTime(k.RevokedAt)
			doc, err := json.Marshal(k)
			akRows = append(akRows, []any{hash, k.ID, doc})
			return err
		}); err != nil {
			return err
		}
		var coRows [][]any
		if err := src.EachConsent(func(id string, c store.Consent) error {
			coRows = append(coRows, []any{id, c.Channel, c.OptedOut, pgTime(c.At), c.Source})
			return nil
		}); err != nil {
			return err
		}
		var idRows [][]any
		if err := src.EachIdempotent(func(rec store.Idempotent) error {
			rec.At = pgTime(rec.At)
			doc, err := json.Marshal(rec)
			idRows = append(idRows, []any{rec.Key, doc, rec.At})
			return err
		}); err != nil {
			return err
		}
		waiting, err := src.WaitingTriggers()
		if err != nil {
			return err
		}
		var twRows [][]any
		for _, w := range waiting {
			twRows = append(twRows, []any{w.Seq, w.ContactID, nonNil(w.Data)})
		}
		// Attachments stream too, one file's bytes in memory at a time.
		files := func(yield func([]any, error) bool) {
			err := src.EachFile(func(f store.File, data []byte) error {
				f.At, f.Erased = pgTime(f.At), pgTime(f.Erased)
				doc, err := json.Marshal(f)
				if err != nil {
					return err
				}
				var b any
				if data != nil {
					b = data
				}
				if !yield([]any{f.ID, f.ContactID, f.At, doc, b}, nil) {
					return errStopped
				}
				return nil
			})
			if err != nil && !errors.Is(err, errStopped) {
				yield(nil, err)
			}
		}
		copies = append(copies, []struct {
			table string
			cols  []string
			rows  pgx.CopyFromSource
			count *int
		}{
			{"events", []string{"seq", "idx", "at", "contact_id", "type", "flow", "node", "data"}, pull(events), &rep.Events},
			{"inbox", []string{"seq", "contact_id", "event_key", "data", "at"}, pgx.CopyFromRows(inRows), &rep.Inbox},
			{"outbox", []string{"id", "contact_id", "address", "data", "attempts", "not_before", "created_at"}, pgx.CopyFromRows(outRows), &rep.Outbox},
			{"tickets", []string{"id", "doc"}, pgx.CopyFromRows(tRows), &rep.Tickets},
			{"agents", []string{"id", "name", "name_key", "display_name", "role", "password_hash", "password_one_time", "created_at"}, pgx.CopyFromRows(aRows), &rep.Agents},
			{"console_sessions", []string{"key", "agent_id", "csrf", "expires"}, pgx.CopyFromRows(csRows), &rep.ConsoleSessions},
			{"positions", []string{"key", "value"}, pgx.CopyFromRows(pRows), &rep.Positions},
			{"merges", []string{"id", "doc"}, pgx.CopyFromRows(mgRows), &rep.Merges},
			{"link_codes", []string{"key", "contact_id", "kind", "expires_at"}, pgx.CopyFromRows(lcRows), &rep.LinkCodes},
			{"saved_replies", []string{"id", "doc"}, pgx.CopyFromRows(srRows), &rep.SavedReplies},
			{"cascades", []string{"id", "data"}, pgx.CopyFromRows(caRows), &rep.Cascades},
			{"api_keys", []string{"hash", "id", "doc"}, pgx.CopyFromRows(akRows), &rep.APIKeys},
			{"consent", []string{"contact_id", "channel", "opted_out", "at", "source"}, pgx.CopyFromRows(coRows), &rep.Consents},
			{"files", []string{"id", "contact_id", "at", "doc", "data"}, pull(files), &rep.Files},
			{"idempotency", []string{"key", "doc", "at"}, pgx.CopyFromRows(idRows), &rep.IdempotencyKeys},
			{"trigger_wait", []string{"seq", "contact_id", "data"}, pgx.CopyFromRows(twRows), &rep.WaitingTriggers},
		}...)
		for _, c := range copies {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, c.rows)
			if ps, ok := c.rows.(*pullSource); ok {
				ps.stop()
			}
			if err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
			*c.count = int(n)
		}
		// Each contact's next message seq follows its copied history.
		if _, err := tx.Exec(ctx, `UPDATE contacts c SET msg_seq = m.last
			FROM (SELECT contact_id, max(seq) AS last FROM messages GROUP BY contact_id) m WHERE c.id = m.contact_id`); err != nil {
			return err
		}
		// The sequences continue after the copied numbers.
		for _, s := range []struct{ seq, sql string }{
			{"event_seq", "SELECT max(seq) FROM events"},
			{"pg_get_serial_sequence('inbox', 'seq')", "SELECT max(seq) FROM inbox"},
			{"pg_get_serial_sequence('outbox', 'id')", "SELECT max(id) FROM outbox"},
			{"pg_get_serial_sequence('tickets', 'id')", "SELECT max(id) FROM tickets"},
			{"pg_get_serial_sequence('merges', 'id')", "SELECT max(id) FROM merges"},
			{"pg_get_serial_sequence('trigger_wait', 'seq')", "SELECT max(seq) FROM trigger_wait"},
		} {
			seq := "'" + s.seq + "'"
			if strings.HasPrefix(s.seq, "pg_") {
				seq = s.seq
			}
			if _, err := tx.Exec(ctx, "SELECT setval("+seq+", coalesce(("+s.sql+"), 0) + 1, false)"); err != nil {
				return fmt.Errorf("continue %s: %w", s.seq, err)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.NotCopied = append(rep.NotCopied, "failed link attempts and the recent channel event ids (dedupe)")
	return rep, verifyCopy(ctx, src, db, contacts, &rep)
}

var errStopped = errors.New("stopped")

// liveProfiles is c's profiles of the identities it has: PostgreSQL keeps a
// profile on its identity's row, so one the bbolt store kept after a turn
// removed its identity has no place (and no use: nothing shows it).
func liveProfiles(c store.Contact) map[string]store.Profile {
	var out map[string]store.Profile
	for _, id := range c.Identities {
		if p, ok := c.Profiles[id]; ok && len(p) > 0 {
			if out == nil {
				out = map[string]store.Profile{}
			}
			out[id] = p
		}
	}
	return out
}

// pullSource feeds COPY from a push iterator of rows.
type pullSource struct {
	next func() ([]any, error, bool)
	stop func() // ends the iterator when COPY stopped early
	row  []any
	err  error
}

func pull(seq iter.Seq2[[]any, error]) *pullSource {
	next, stop := iter.Pull2(seq)
	return &pullSource{next: next, stop: stop}
}

func (s *pullSource) Next() bool {
	row, err, ok := s.next()
	if !ok || err != nil {
		s.err = err
		return false
	}
	s.row = row
	return true
}

func (s *pullSource) Values() ([]any, error) { return s.row, nil }
func (s *pullSource) Err() error             { return s.err }

func jsonOrNil[T any](v []T) any {
	if len(v) == 0 {
		return nil
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonMapOrNil(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// verifyCopy counts every table against the report and compares a sample
// of contacts, read back through db, with the source.
func verifyCopy(ctx context.Context, src Source, db *DB, contacts []store.Contact, rep *CopyReport) error {
	for table, want := range map[string]int{"contacts": rep.Contacts, "identities": rep.Identities, "sessions": rep.Sessions,
		"messages": rep.Messages, "events": rep.Events, "inbox": rep.Inbox, "outbox": rep.Outbox, "tickets": rep.Tickets,
		"agents": rep.Agents, "console_sessions": rep.ConsoleSessions, "positions": rep.Positions,
		"merges": rep.Merges, "link_codes": rep.LinkCodes, "saved_replies": rep.SavedReplies, "cascades": rep.Cascades,
		"api_keys": rep.APIKeys, "consent": rep.Consents, "files": rep.Files,
		"idempotency": rep.IdempotencyKeys, "trigger_wait": rep.WaitingTriggers} {
		var n int
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("check: %s has %d rows after the copy, the source %d", table, n, want)
		}
	}
	step := max(1, len(contacts)/sampleContacts)
	for i := 0; i < len(contacts); i += step {
		c := contacts[i]
		got, err := db.Contact(c.ID)
		if err != nil {
			return fmt.Errorf("check: contact %s: %w", c.ID, err)
		}
		want := c
		want.CreatedAt, want.UpdatedAt = pgTime(c.CreatedAt), pgTime(c.UpdatedAt)
		want.Profiles = liveProfiles(c)
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("check: contact %s differs after the copy", c.ID)
		}
		h1, err := src.History(c.ID, 0, 0)
		if err != nil {
			return err
		}
		for j := range h1 {
			h1[j].At = pgTime(h1[j].At)
		}
		h2, err := db.History(c.ID, 0, 0)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(h1, h2) {
			return fmt.Errorf("check: history of %s differs after the copy", c.ID)
		}
		s1, _ := src.Session(c.ID)
		s2, err := db.Session(c.ID)
		if err != nil || string(s1) != string(s2) {
			return fmt.Errorf("check: session of %s differs after the copy", c.ID)
		}
		var c1 []store.Consent
		if err := src.EachConsent(func(id string, rec store.Consent) error {
			if id == c.ID {
				rec.At = pgTime(rec.At)
				c1 = append(c1, rec)
			}
			return nil
		}); err != nil {
			return err
		}
		c2, err := db.Consents(c.ID)
		if err != nil || !reflect.DeepEqual(c1, c2) {
			return fmt.Errorf("check: consent of %s differs after the copy", c.ID)
		}
		rep.Sampled++
	}
	t1, err := src.Tickets("")
	if err != nil {
		return err
	}
	t2, err := db.Tickets("")
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(t1, t2) {
		return errors.New("check: tickets differ after the copy")
	}
	r1, err := src.SavedReplies()
	if err != nil {
		return err
	}
	for i := range r1 {
		r1[i].UpdatedAt = pgTime(r1[i].UpdatedAt)
	}
	if r2, err := db.SavedReplies(); err != nil || !reflect.DeepEqual(r1, r2) {
		return fmt.Errorf("check: saved replies differ after the copy (%v)", err)
	}
	k1 := map[string]store.APIKey{}
	if err := src.EachAPIKey(func(hash []byte, k store.APIKey) error {
		k.CreatedAt, k.RevokedAt = pgTime(k.CreatedAt), pgTime(k.RevokedAt)
		k1[string(hash)] = k
		return nil
	}); err != nil {
		return err
	}
	for hash, want := range k1 {
		var got store.APIKey
		if err := db.pool.QueryRow(ctx, "SELECT doc FROM api_keys WHERE hash = $1", []byte(hash)).Scan(&got); err != nil {
			return fmt.Errorf("check: api key %s after the copy: %w", want.ID, err)
		}
		if !reflect.DeepEqual(fixAPIKey(got), want) {
			return fmt.Errorf("check: api key %s differs after the copy", want.ID)
		}
	}
	// Every file's bytes against the hash recorded when it was stored, and
	// the records of the sampled contacts' files against the source.
	var bad int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM files WHERE data IS NOT NULL
		AND (length(data) <> (doc ->> 'size')::bigint OR encode(sha256(data), 'hex') <> doc ->> 'sha256')`).Scan(&bad); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("check: %d files differ from their recorded size or SHA-256 after the copy", bad)
	}
	sampled := map[string]bool{}
	for i := 0; i < len(contacts); i += step {
		sampled[contacts[i].ID] = true
	}
	if err := src.EachFile(func(f store.File, data []byte) error {
		if !sampled[f.ContactID] {
			return nil
		}
		f.At, f.Erased = pgTime(f.At), pgTime(f.Erased)
		got, err := db.File(f.ID)
		if err != nil || !reflect.DeepEqual(got, f) {
			return fmt.Errorf("check: file %s differs after the copy (%v)", f.ID, err)
		}
		return nil
	}); err != nil {
		return err
	}
	w1, err := src.WaitingTriggers()
	if err != nil {
		return err
	}
	if w2, err := db.WaitingTriggers(); err != nil || !reflect.DeepEqual(w1, w2) {
		return fmt.Errorf("check: parked triggers differ after the copy (%v)", err)
	}
	if err := src.EachIdempotent(func(want store.Idempotent) error {
		want.At = pgTime(want.At)
		got, ok, err := db.Idempotency(want.Key)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			return fmt.Errorf("check: idempotency key %q differs after the copy (%v)", want.Key, err)
		}
		return nil
	}); err != nil {
		return err
	}
	c1, err := src.Cascades()
	if err != nil {
		return err
	}
	if c2, err := db.Cascades(); err != nil || !reflect.DeepEqual(c1, c2) {
		return fmt.Errorf("check: cascades differ after the copy (%v)", err)
	}
	return nil
}
