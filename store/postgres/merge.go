package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Merges follow the bbolt store's rules (store.DB.MergeContacts,
// UndoMerge); both contacts' rows are locked, in id order, first.

// lockContacts locks the rows of the given contacts in id order (so two
// merges of the same pair cannot deadlock) and fails with ErrNotFound for
// one that does not exist.
func lockContacts(ctx context.Context, tx pgx.Tx, ids ...string) error {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	for _, id := range sorted {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE", id).Scan(&one)
		if noRows(err) {
			return fmt.Errorf("store: contact %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func loadHistory(ctx context.Context, tx pgx.Tx, cid string) ([]store.Message, error) {
	return readMessages(ctx, tx, messageSelect+" WHERE contact_id = $1 ORDER BY seq", cid)
}

// rewriteHistory replaces cid's history with ms, renumbered 1..n.
func rewriteHistory(ctx context.Context, tx pgx.Tx, cid string, ms []store.Message) error {
	b := &pgx.Batch{}
	b.Queue("DELETE FROM messages WHERE contact_id = $1", cid)
	for i, m := range ms {
		m.ContactID = cid
		queueMessage(b, m, uint64(i+1))
	}
	b.Queue("UPDATE contacts SET msg_seq = $2 WHERE id = $1", cid, len(ms))
	return tx.SendBatch(ctx, b).Close()
}

func insertEvent(ctx context.Context, tx pgx.Tx, e store.Event) error {
	b := &pgx.Batch{}
	queueEvents(b, []store.Event{e}, false)
	return tx.SendBatch(ctx, b).Close()
}

func putMerge(ctx context.Context, tx pgx.Tx, rec store.MergeRecord) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO merges (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, rec.ID, doc)
	return err
}

func getMerge(ctx context.Context, q querier, id uint64, lock bool) (store.MergeRecord, error) {
	sql := "SELECT id, doc FROM merges WHERE id = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	rec, err := scanMerge(q.QueryRow(ctx, sql, id))
	if noRows(err) {
		return rec, fmt.Errorf("store: merge %d: %w", id, store.ErrNotFound)
	}
	return rec, err
}

func scanMerge(row pgx.Row) (store.MergeRecord, error) {
	var id uint64
	var doc []byte
	if err := row.Scan(&id, &doc); err != nil {
		return store.MergeRecord{}, err
	}
	var rec store.MergeRecord
	if err := json.Unmarshal(doc, &rec); err != nil {
		return rec, fmt.Errorf("store: merge %d: %w", id, err)
	}
	rec.ID = id
	return rec, nil
}

// putContactRow stores name, lang, fields, UpdatedAt and Rev of c.
func putContactRow(ctx context.Context, tx pgx.Tx, c store.Contact) error {
	_, err := tx.Exec(ctx, "UPDATE contacts SET name = $2, lang = $3, fields = $4, updated_at = $5, rev = $6 WHERE id = $1",
		c.ID, c.Name, c.Lang, nullFields(c.Fields), c.UpdatedAt, c.Rev)
	return err
}

// MergeContacts folds contact from into contact into, in one transaction.
func (db *DB) MergeContacts(ctx context.Context, intoID, fromID string) (store.Contact, error) {
	res, err := db.Merge(ctx, intoID, fromID, store.MergeOptions{Reason: "api"})
	return res.Contact, err
}

// Merge is MergeContacts with options, returning the merge record.
func (db *DB) Merge(ctx context.Context, intoID, fromID string, opts store.MergeOptions) (store.MergeResult, error) {
	if err := store.ValidContactID(intoID); err != nil {
		return store.MergeResult{}, err
	}
	if err := store.ValidContactID(fromID); err != nil {
		return store.MergeResult{}, err
	}
	if intoID == fromID {
		return store.MergeResult{}, fmt.Errorf("store: merge contact %q into itself", intoID)
	}
	now := db.now()
	var out store.MergeResult
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = mergeTx(ctx, tx, intoID, fromID, opts, now)
		return err
	})
	return out, err
}

func mergeTx(ctx context.Context, tx pgx.Tx, intoID, fromID string, opts store.MergeOptions, now time.Time) (store.MergeResult, error) {
	if err := lockContacts(ctx, tx, intoID, fromID); err != nil {
		return store.MergeResult{}, err
	}
	into, err := getContact(ctx, tx, intoID, false)
	if err != nil {
		return store.MergeResult{}, err
	}
	from, err := getContact(ctx, tx, fromID, false)
	if err != nil {
		return store.MergeResult{}, err
	}
	open := map[string]uint64{}
	rows, err := tx.Query(ctx, "SELECT contact_id, id FROM tickets WHERE contact_id IN ($1, $2) AND status <> 'resolved'", intoID, fromID)
	if err != nil {
		return store.MergeResult{}, err
	}
	var cid string
	var tid uint64
	if _, err := pgx.ForEachRow(rows, []any{&cid, &tid}, func() error { open[cid] = tid; return nil }); err != nil {
		return store.MergeResult{}, err
	}
	if a, b := open[intoID], open[fromID]; a != 0 && b != 0 {
		return store.MergeResult{}, fmt.Errorf("store: merge %q into %q: both have an open ticket (%d and %d): %w",
			fromID, intoID, b, a, store.ErrTicketOpen)
	}
	var mid uint64
	if err := tx.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('merges', 'id'))").Scan(&mid); err != nil {
		return store.MergeResult{}, err
	}
	rec := store.MergeRecord{ID: mid, At: now, IntoID: intoID, From: from, Reason: opts.Reason, By: opts.By}

	// History: both, by time (into's first on ties), renumbered.
	a, err := loadHistory(ctx, tx, intoID)
	if err != nil {
		return store.MergeResult{}, err
	}
	b, err := loadHistory(ctx, tx, fromID)
	if err != nil {
		return store.MergeResult{}, err
	}
	if len(b) > 0 {
		for i := range b {
			b[i].Via = append(slices.Clone(b[i].Via), mid)
		}
		all := append(a, b...)
		slices.SortStableFunc(all, func(x, y store.Message) int { return x.At.Compare(y.At) })
		if err := rewriteHistory(ctx, tx, fromID, nil); err != nil {
			return store.MergeResult{}, err
		}
		if err := rewriteHistory(ctx, tx, intoID, all); err != nil {
			return store.MergeResult{}, err
		}
	}
	// Tickets, inbox and outbox move over.
	rows, err = tx.Query(ctx, "SELECT id FROM tickets WHERE contact_id = $1 ORDER BY id", fromID)
	if err != nil {
		return store.MergeResult{}, err
	}
	if rec.Tickets, err = pgx.CollectRows(rows, pgx.RowTo[uint64]); err != nil {
		return store.MergeResult{}, err
	}
	if len(rec.Tickets) == 0 {
		rec.Tickets = nil
	}
	if _, err := tx.Exec(ctx, "UPDATE tickets SET doc = jsonb_set(doc, '{contact_id}', to_jsonb($1::text)) WHERE contact_id = $2",
		intoID, fromID); err != nil {
		return store.MergeResult{}, err
	}
	rows, err = tx.Query(ctx, "UPDATE inbox SET contact_id = $1 WHERE contact_id = $2 RETURNING seq, contact_id, event_key, data, at", intoID, fromID)
	if err != nil {
		return store.MergeResult{}, err
	}
	moved, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.InboxEntry, error) {
		var e store.InboxEntry
		err := r.Scan(&e.Seq, &e.ContactID, &e.EventKey, &e.Data, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return store.MergeResult{}, err
	}
	sort.Slice(moved, func(i, j int) bool { return moved[i].Seq < moved[j].Seq })
	if len(moved) == 0 {
		moved = nil
	}
	if _, err := tx.Exec(ctx, "UPDATE outbox SET contact_id = $1 WHERE contact_id = $2", intoID, fromID); err != nil {
		return store.MergeResult{}, err
	}
	// Sessions.
	fs, err := sessionTx(ctx, tx, fromID)
	if err != nil {
		return store.MergeResult{}, err
	}
	is, err := sessionTx(ctx, tx, intoID)
	if err != nil {
		return store.MergeResult{}, err
	}
	rec.FromSession = fs
	merged := is
	if opts.Session != nil {
		if merged, err = opts.Session(is, fs); err != nil {
			return store.MergeResult{}, fmt.Errorf("store: merge sessions of %q and %q: %w", intoID, fromID, err)
		}
	} else if merged == nil {
		merged = fs
	}
	if merged != nil {
		if len(merged) > store.MaxValue {
			return store.MergeResult{}, fmt.Errorf("store: merged session of %d bytes, limit %d", len(merged), store.MaxValue)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (contact_id, state) VALUES ($1, $2)
			ON CONFLICT (contact_id) DO UPDATE SET state = EXCLUDED.state`, intoID, merged); err != nil {
			return store.MergeResult{}, err
		}
	}
	// Recent event keys: a redelivery to either side's channels is known.
	if err := copyEventKeys(ctx, tx, fromID, intoID); err != nil {
		return store.MergeResult{}, err
	}
	for _, identity := range from.Identities {
		if !slices.Contains(into.Identities, identity) {
			into.Identities = append(into.Identities, identity)
		}
		if _, err := tx.Exec(ctx, "UPDATE identities SET contact_id = $2, ord = $3 WHERE identity = $1",
			identity, intoID, slices.Index(into.Identities, identity)); err != nil {
			return store.MergeResult{}, err
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
	if err := putContactRow(ctx, tx, into); err != nil {
		return store.MergeResult{}, err
	}
	if err := moveWaitingTriggers(ctx, tx, intoID, fromID); err != nil {
		return store.MergeResult{}, err
	}
	// Deleting the contact deletes its session, event keys, link codes and
	// attempts with it (ON DELETE CASCADE).
	if _, err := tx.Exec(ctx, "DELETE FROM contacts WHERE id = $1", fromID); err != nil {
		return store.MergeResult{}, err
	}
	if err := mergeConsent(ctx, tx, intoID, fromID); err != nil {
		return store.MergeResult{}, err
	}
	if err := putMerge(ctx, tx, rec); err != nil {
		return store.MergeResult{}, err
	}
	if err := insertEvent(ctx, tx, store.Event{Type: "contact_merged", ContactID: intoID, At: now,
		Data: map[string]string{"from": fromID, "merge": fmt.Sprint(mid), "reason": opts.Reason}}); err != nil {
		return store.MergeResult{}, err
	}
	return store.MergeResult{Record: rec, Contact: into, Moved: moved}, nil
}

func sessionTx(ctx context.Context, tx pgx.Tx, cid string) ([]byte, error) {
	var s []byte
	err := tx.QueryRow(ctx, "SELECT state FROM sessions WHERE contact_id = $1", cid).Scan(&s)
	if noRows(err) {
		return nil, nil
	}
	return s, err
}

// copyEventKeys gives to the event keys of from (the newer time wins).
func copyEventKeys(ctx context.Context, tx pgx.Tx, from, to string) error {
	_, err := tx.Exec(ctx, `INSERT INTO event_keys (contact_id, key_hash, at)
		SELECT $2, key_hash, at FROM event_keys WHERE contact_id = $1
		ON CONFLICT (contact_id, key_hash) DO UPDATE SET at = greatest(event_keys.at, EXCLUDED.at)`, from, to)
	return err
}

// UndoMerge splits a merge back, in one transaction, by the bbolt store's
// rule (store.DB.UndoMerge).
func (db *DB) UndoMerge(ctx context.Context, mergeID uint64, by string) (store.MergeRecord, error) {
	now := db.now()
	var out store.MergeRecord
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = undoMergeTx(ctx, tx, mergeID, by, now)
		return err
	})
	return out, err
}

func undoMergeTx(ctx context.Context, tx pgx.Tx, mergeID uint64, by string, now time.Time) (store.MergeRecord, error) {
	rec, err := getMerge(ctx, tx, mergeID, true)
	if err != nil {
		return rec, err
	}
	fromID := rec.From.ID
	fail := func(format string, args ...any) (store.MergeRecord, error) {
		return rec, fmt.Errorf("store: undo merge %d: "+format+": %w", append([]any{mergeID}, append(args, store.ErrUndo)...)...)
	}
	if rec.Undone() {
		return fail("already undone at %s", rec.UndoneAt.Format(time.RFC3339))
	}
	if _, err := getContact(ctx, tx, fromID, false); err == nil {
		return fail("contact %q exists again", fromID)
	}
	if err := lockContacts(ctx, tx, rec.IntoID); errors.Is(err, store.ErrNotFound) {
		return fail("contact %q no longer exists (merged away or forgotten); undo the later merge first", rec.IntoID)
	} else if err != nil {
		return rec, err
	}
	into, err := getContact(ctx, tx, rec.IntoID, false)
	if err != nil {
		return rec, err
	}
	var back []string
	for _, identity := range rec.From.Identities {
		if slices.Contains(into.Identities, identity) {
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

	all, err := loadHistory(ctx, tx, into.ID)
	if err != nil {
		return rec, err
	}
	var stay, home []store.Message
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
	if err := rewriteHistory(ctx, tx, into.ID, stay); err != nil {
		return rec, err
	}

	from := rec.From
	from.Identities = back
	// The identities going back take what their channels said since.
	from.Profiles = nil
	into.Profiles, from.Profiles = moveProfiles(into.Profiles, nil, back)
	from.UpdatedAt = now
	from.Rev++
	if _, err := tx.Exec(ctx, "INSERT INTO contacts (id, name, lang, fields, created_at, updated_at, rev) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		from.ID, from.Name, from.Lang, nullFields(from.Fields), pgTime(from.CreatedAt), from.UpdatedAt, from.Rev); err != nil {
		return rec, err
	}
	for i, identity := range back {
		if _, err := tx.Exec(ctx, "UPDATE identities SET contact_id = $2, ord = $3 WHERE identity = $1", identity, fromID, i); err != nil {
			return rec, err
		}
	}
	for i, identity := range keep {
		if _, err := tx.Exec(ctx, "UPDATE identities SET ord = $2 WHERE identity = $1", identity, i); err != nil {
			return rec, err
		}
	}
	if err := rewriteHistory(ctx, tx, fromID, home); err != nil {
		return rec, err
	}
	if rec.FromSession != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO sessions (contact_id, state) VALUES ($1, $2)", fromID, rec.FromSession); err != nil {
			return rec, err
		}
	}
	if err := copyEventKeys(ctx, tx, into.ID, fromID); err != nil {
		return rec, err
	}
	for _, n := range rec.Tickets {
		_, err := tx.Exec(ctx, "UPDATE tickets SET doc = jsonb_set(doc, '{contact_id}', to_jsonb($1::text)) WHERE id = $2 AND contact_id = $3",
			fromID, n, into.ID)
		if name, ok := uniqueViolation(err); ok && name == "tickets_one_open" {
			return rec, fmt.Errorf("store: move ticket %d to %q: it has a ticket open: %w", n, fromID, store.ErrTicketOpen)
		}
		if err != nil {
			return rec, err
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE outbox SET contact_id = $1 WHERE contact_id = $2 AND address = ANY($3)", fromID, into.ID, back); err != nil {
		return rec, err
	}

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
	if err := putContactRow(ctx, tx, into); err != nil {
		return rec, err
	}
	rec.UndoneAt, rec.UndoneBy = now, by
	if err := putMerge(ctx, tx, rec); err != nil {
		return rec, err
	}
	return rec, insertEvent(ctx, tx, store.Event{Type: "contact_unmerged", ContactID: into.ID, At: now,
		Data: map[string]string{"from": fromID, "merge": fmt.Sprint(mergeID), "by": by}})
}

// MergeRecordByID returns merge id.
func (db *DB) MergeRecordByID(id uint64) (store.MergeRecord, error) {
	rec, err := getMerge(context.Background(), db.pool, id, false)
	return rec, mapErr(err)
}

// Merges returns the merges a contact took part in, as survivor or as the
// absorbed one, oldest first.
func (db *DB) Merges(contactID string) ([]store.MergeRecord, error) {
	return mergesOf(context.Background(), db.pool, []string{contactID})
}

func mergesOf(ctx context.Context, q querier, ids []string) ([]store.MergeRecord, error) {
	rows, err := q.Query(ctx, "SELECT id, doc FROM merges WHERE into_id = ANY($1) OR from_id = ANY($1) ORDER BY id", ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.MergeRecord, error) { return scanMerge(r) })
	if len(out) == 0 {
		out = nil
	}
	return out, err
}
