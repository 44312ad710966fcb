package postgres

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Export and erasure, with the bbolt store's rules (store/forget.go).
// PostgreSQL overwrites nothing in place either: deleted rows stay in the
// table files until VACUUM reclaims them, and in the WAL and its archives
// until those are recycled. ForgetContact runs no VACUUM (it cannot inside
// a transaction); the operator's autovacuum and WAL retention bound how
// long erased text stays on disk (docs/deploy.md).

// personIDs is the contact id and the ids of the contacts merged into it,
// directly or through one another (not undone); recs are the merge records
// that name any of them.
func personIDs(ctx context.Context, q querier, id string) (map[string]bool, []store.MergeRecord, error) {
	ids := map[string]bool{id: true}
	for {
		recs, err := mergesOf(ctx, q, slices.Collect(maps.Keys(ids)))
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

// ExportContact collects everything stored about contact id, read in one
// repeatable-read transaction (one snapshot).
func (db *DB) ExportContact(id string) (store.ContactExport, error) {
	ctx := context.Background()
	var out store.ContactExport
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		out = store.ContactExport{}
		c, err := getContact(ctx, tx, id, false)
		if err != nil {
			return err
		}
		out.Contact = c
		ids, recs, err := personIDs(ctx, tx, id)
		if err != nil {
			return err
		}
		out.ContactIDs, out.Merges = slices.Sorted(maps.Keys(ids)), recs
		idList := out.ContactIDs
		s, err := sessionTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if s != nil {
			if json.Valid(s) {
				out.Session = json.RawMessage(s)
			} else {
				out.Session, _ = json.Marshal(s)
			}
		}
		if out.History, err = loadHistory(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id, doc FROM tickets WHERE contact_id = ANY($1) ORDER BY id", idList)
		if err != nil {
			return err
		}
		if out.Tickets, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Ticket, error) { return scanTicket(r) }); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT seq, contact_id, event_key, data, at FROM inbox WHERE contact_id = ANY($1) ORDER BY seq", idList)
		if err != nil {
			return err
		}
		if out.Inbox, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.InboxEntry, error) {
			var e store.InboxEntry
			err := r.Scan(&e.Seq, &e.ContactID, &e.EventKey, &e.Data, &e.At)
			e.At = e.At.UTC()
			return e, err
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, outboxSelect+" WHERE contact_id = ANY($1) ORDER BY id", idList)
		if err != nil {
			return err
		}
		if out.Outbox, err = pgx.CollectRows(rows, scanOutbox); err != nil {
			return err
		}
		if out.Files, err = filesOfPerson(ctx, tx, idList, true); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT kind, expires_at FROM link_codes WHERE contact_id = ANY($1) ORDER BY key", idList)
		if err != nil {
			return err
		}
		if out.Links, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LinkCodeInfo, error) {
			var l store.LinkCodeInfo
			err := r.Scan(&l.Kind, &l.ExpiresAt)
			l.ExpiresAt = l.ExpiresAt.UTC()
			return l, err
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, "SELECT seq, idx, at, contact_id, type, flow, node, data FROM events WHERE contact_id = ANY($1) ORDER BY at, seq, idx", idList)
		if err != nil {
			return err
		}
		out.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Event, error) {
			var e store.Event
			var idx int
			err := r.Scan(&e.Seq, &idx, &e.At, &e.ContactID, &e.Type, &e.Flow, &e.Node, &e.Data)
			e.At = e.At.UTC()
			return e, err
		})
		return err
	})
	if err != nil {
		return store.ContactExport{}, mapErr(err)
	}
	out.History = nonNilSlice(out.History)
	out.Tickets = nonNilSlice(out.Tickets)
	out.Events = nonNilSlice(out.Events)
	out.Merges = nonNilSlice(out.Merges)
	out.Inbox = nonNilSlice(out.Inbox)
	out.Outbox = nonNilSlice(out.Outbox)
	out.Links = nonNilSlice(out.Links)
	out.Files = nonNilSlice(out.Files)
	return out, nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ForgetContact erases a contact in one transaction, by the bbolt store's
// rule (store.DB.ForgetContact): the contact and what cascades from it
// (identities, session, history, event keys, link codes and attempts),
// the inbox and outbox entries and merge records of the person; tickets
// and events are kept anonymised under a new AnonPrefix id.
func (db *DB) ForgetContact(ctx context.Context, id, by string) (store.ForgetResult, error) {
	if err := store.ValidContactID(id); err != nil {
		return store.ForgetResult{}, err
	}
	now := db.now()
	anon := store.NewID(store.AnonPrefix, now)
	var res store.ForgetResult
	err := db.tx(ctx, func(tx pgx.Tx) error {
		res = store.ForgetResult{ContactID: id, Anonymous: anon}
		if err := lockContacts(ctx, tx, id); err != nil {
			return err
		}
		c, err := getContact(ctx, tx, id, false)
		if err != nil {
			return err
		}
		res.Identities = slices.Clone(c.Identities)
		ids, recs, err := personIDs(ctx, tx, id)
		if err != nil {
			return err
		}
		res.Merges, res.ContactIDs = len(recs), slices.Sorted(maps.Keys(ids))
		mids := make([]uint64, len(recs))
		for i, r := range recs {
			mids[i] = r.ID
		}
		if _, err := tx.Exec(ctx, "DELETE FROM merges WHERE id = ANY($1)", mids); err != nil {
			return err
		}
		names := map[string]bool{}
		for k := range ids {
			names[k] = true
		}
		for _, identity := range c.Identities {
			names[identity] = true
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM messages WHERE contact_id = $1", id).Scan(&res.Messages); err != nil {
			return err
		}
		var inbox, outbox int64
		tag, err := tx.Exec(ctx, "DELETE FROM inbox WHERE contact_id = ANY($1)", res.ContactIDs)
		if err != nil {
			return err
		}
		inbox = tag.RowsAffected()
		if tag, err = tx.Exec(ctx, "DELETE FROM outbox WHERE contact_id = ANY($1)", res.ContactIDs); err != nil {
			return err
		}
		outbox = tag.RowsAffected()
		res.Queued = int(inbox + outbox)
		if _, err := tx.Exec(ctx, "DELETE FROM consent WHERE contact_id = ANY($1)", res.ContactIDs); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, "DELETE FROM files WHERE contact_id = ANY($1)", res.ContactIDs)
		if err != nil {
			return err
		}
		res.Files = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, "DELETE FROM contacts WHERE id = $1", id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT id, doc FROM tickets WHERE contact_id = ANY($1) ORDER BY id FOR UPDATE", res.ContactIDs)
		if err != nil {
			return err
		}
		tickets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Ticket, error) { return scanTicket(r) })
		if err != nil {
			return err
		}
		for _, t := range tickets {
			store.AnonymiseTicket(&t, anon, now)
			doc, err := json.Marshal(t)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "UPDATE tickets SET doc = $2 WHERE id = $1", t.ID, doc); err != nil {
				return err
			}
			res.Tickets++
			res.TicketIDs = append(res.TicketIDs, t.ID)
		}
		rows, err = tx.Query(ctx, "SELECT seq, idx, data FROM events WHERE contact_id = ANY($1) FOR UPDATE", res.ContactIDs)
		if err != nil {
			return err
		}
		type evRow struct {
			seq  uint64
			idx  int
			data map[string]string
		}
		evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (evRow, error) {
			var e evRow
			return e, r.Scan(&e.seq, &e.idx, &e.data)
		})
		if err != nil {
			return err
		}
		for _, e := range evs {
			ev := store.Event{Data: e.data}
			store.AnonymiseEvent(&ev, names, anon)
			var data any
			if len(ev.Data) > 0 {
				data = ev.Data
			}
			if _, err := tx.Exec(ctx, "UPDATE events SET contact_id = $3, data = $4 WHERE seq = $1 AND idx = $2", e.seq, e.idx, anon, data); err != nil {
				return err
			}
		}
		res.Events = len(evs)
		return insertEvent(ctx, tx, store.Event{Type: "contact_forgotten", ContactID: anon, At: now, Data: map[string]string{"by": by}})
	})
	if err != nil {
		return store.ForgetResult{}, err
	}
	return res, nil
}
