package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Tickets are kept as their JSON document (the same encoding as the bbolt
// store, exact times included); contact_id and status are generated
// columns the indexes use.

func scanTicket(row pgx.Row) (store.Ticket, error) {
	var id uint64
	var doc []byte
	if err := row.Scan(&id, &doc); err != nil {
		return store.Ticket{}, err
	}
	var t store.Ticket
	if err := json.Unmarshal(doc, &t); err != nil {
		return t, fmt.Errorf("store: ticket %d: %w", id, err)
	}
	t.ID = id
	return t, nil
}

func getTicket(ctx context.Context, q querier, id uint64, lock bool) (store.Ticket, error) {
	sql := "SELECT id, doc FROM tickets WHERE id = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	t, err := scanTicket(q.QueryRow(ctx, sql, id))
	if noRows(err) {
		return t, fmt.Errorf("store: ticket %d: %w", id, store.ErrNotFound)
	}
	return t, err
}

// openTicketTx assigns t.ID and stores t.
func openTicketTx(ctx context.Context, tx pgx.Tx, t *store.Ticket) error {
	var one int
	err := tx.QueryRow(ctx, "SELECT 1 FROM contacts WHERE id = $1", t.ContactID).Scan(&one)
	if noRows(err) {
		return fmt.Errorf("store: ticket for contact %q: %w", t.ContactID, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if t.Status != store.TicketResolved {
		var other uint64
		err := tx.QueryRow(ctx, "SELECT id FROM tickets WHERE contact_id = $1 AND status <> 'resolved'", t.ContactID).Scan(&other)
		if err == nil {
			return fmt.Errorf("store: contact %q has ticket %d: %w", t.ContactID, other, store.ErrTicketOpen)
		}
		if !noRows(err) {
			return err
		}
	}
	if err := tx.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('tickets', 'id'))").Scan(&t.ID); err != nil {
		return err
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "INSERT INTO tickets (id, doc) VALUES ($1, $2)", t.ID, doc)
	if name, ok := uniqueViolation(err); ok && name == "tickets_one_open" {
		// A concurrent transaction opened one after the check above.
		return fmt.Errorf("store: contact %q has an open ticket: %w", t.ContactID, store.ErrTicketOpen)
	}
	return err
}

// updateTicketTx runs fn on the locked ticket and stores the result, with
// the bbolt store's rules for ResolvedAt and ReopenedAt.
func updateTicketTx(ctx context.Context, tx pgx.Tx, id uint64, fn func(*store.Ticket) error, now time.Time) (store.Ticket, error) {
	t, err := getTicket(ctx, tx, id, true)
	if err != nil {
		return store.Ticket{}, err
	}
	oldStatus, contact := t.Status, t.ContactID
	if err := fn(&t); err != nil {
		return store.Ticket{}, err
	}
	if t.ID != id || t.ContactID != contact {
		return store.Ticket{}, fmt.Errorf("store: ticket %d: ID and ContactID cannot change", id)
	}
	if err := store.ValidTicket(&t); err != nil {
		return store.Ticket{}, err
	}
	wasOpen, isOpen := oldStatus != store.TicketResolved, t.Status != store.TicketResolved
	switch {
	case wasOpen && !isOpen:
		if t.ResolvedAt.IsZero() {
			t.ResolvedAt = now
		}
	case !wasOpen && isOpen:
		var other uint64
		err := tx.QueryRow(ctx, "SELECT id FROM tickets WHERE contact_id = $1 AND status <> 'resolved'", contact).Scan(&other)
		if err == nil {
			return store.Ticket{}, fmt.Errorf("store: reopen ticket %d: contact %q has ticket %d: %w",
				id, contact, other, store.ErrTicketOpen)
		}
		if !noRows(err) {
			return store.Ticket{}, err
		}
		if t.ReopenedAt.IsZero() || !t.ReopenedAt.After(t.ResolvedAt) {
			t.ReopenedAt = now
		}
	}
	doc, err := json.Marshal(t)
	if err != nil {
		return store.Ticket{}, err
	}
	_, err = tx.Exec(ctx, "UPDATE tickets SET doc = $2 WHERE id = $1", id, doc)
	if name, ok := uniqueViolation(err); ok && name == "tickets_one_open" {
		return store.Ticket{}, fmt.Errorf("store: reopen ticket %d: contact %q has an open ticket: %w", id, contact, store.ErrTicketOpen)
	}
	return t, err
}

// OpenTicket stores a new ticket and returns it with its ID; ErrTicketOpen
// if the contact already has a non-resolved ticket.
func (db *DB) OpenTicket(ctx context.Context, t store.Ticket) (store.Ticket, error) {
	if err := store.PrepareTicket(&t, db.now()); err != nil {
		return store.Ticket{}, err
	}
	var out store.Ticket
	err := db.tx(ctx, func(tx pgx.Tx) error {
		out = t
		return openTicketTx(ctx, tx, &out)
	})
	if err != nil {
		return store.Ticket{}, err
	}
	return out, nil
}

// Ticket returns ticket id.
func (db *DB) Ticket(id uint64) (store.Ticket, error) {
	t, err := getTicket(context.Background(), db.pool, id, false)
	return t, mapErr(err)
}

func (db *DB) oneTicket(sql string, args ...any) (store.Ticket, bool, error) {
	t, err := scanTicket(db.pool.QueryRow(context.Background(), sql, args...))
	if noRows(err) {
		return store.Ticket{}, false, nil
	}
	if err != nil {
		return store.Ticket{}, false, mapErr(err)
	}
	return t, true, nil
}

// OpenTicketFor returns the contact's non-resolved ticket, if any.
func (db *DB) OpenTicketFor(contactID string) (store.Ticket, bool, error) {
	return db.oneTicket("SELECT id, doc FROM tickets WHERE contact_id = $1 AND status <> 'resolved'", contactID)
}

// LastTicketFor returns the contact's most recent ticket of any status.
func (db *DB) LastTicketFor(contactID string) (store.Ticket, bool, error) {
	return db.oneTicket("SELECT id, doc FROM tickets WHERE contact_id = $1 ORDER BY id DESC LIMIT 1", contactID)
}

// TicketStateFor reads OpenTicketFor and LastTicketFor in one query.
func (db *DB) TicketStateFor(contactID string) (store.TicketState, error) {
	rows, err := db.pool.Query(context.Background(), `
		(SELECT id, doc FROM tickets WHERE contact_id = $1 AND status <> 'resolved')
		UNION ALL
		(SELECT id, doc FROM tickets WHERE contact_id = $1 ORDER BY id DESC LIMIT 1)`, contactID)
	if err != nil {
		return store.TicketState{}, mapErr(err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Ticket, error) { return scanTicket(r) })
	if err != nil {
		return store.TicketState{}, err
	}
	var st store.TicketState
	for _, t := range ts {
		if t.Status != store.TicketResolved && !st.HasOpen {
			st.Open, st.HasOpen = t, true
		}
	}
	if len(ts) > 0 {
		st.Last, st.HasLast = ts[len(ts)-1], true
	}
	return st, nil
}

// Tickets returns the tickets with the given status ("" for all) in ID order.
func (db *DB) Tickets(status string) ([]store.Ticket, error) {
	switch status {
	case "", store.TicketQueued, store.TicketAssigned, store.TicketResolved:
	default:
		return nil, fmt.Errorf("store: ticket status %q, want queued, assigned, resolved or empty", status)
	}
	rows, err := db.pool.Query(context.Background(),
		"SELECT id, doc FROM tickets WHERE $1 = '' OR status = $1 ORDER BY id", status)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Ticket, error) { return scanTicket(r) })
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// UpdateTicket atomically reads ticket id, applies fn and stores the
// result; fn may run more than once and must be free of side effects.
func (db *DB) UpdateTicket(ctx context.Context, id uint64, fn func(*store.Ticket) error) (store.Ticket, error) {
	if fn == nil {
		return store.Ticket{}, fmt.Errorf("store: update ticket %d: nil fn", id)
	}
	now := db.now()
	var out store.Ticket
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = updateTicketTx(ctx, tx, id, fn, now)
		return err
	})
	if err != nil {
		return store.Ticket{}, err
	}
	return out, nil
}
