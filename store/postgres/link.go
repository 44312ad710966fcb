package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Link codes and attempts, with the bbolt store's rules (store/link.go).

// IssueLinkCode makes a one-time code or deep-link token for the contact,
// valid for ttl, replacing the contact's previous one of that kind.
// Expired codes of every contact are pruned.
func (db *DB) IssueLinkCode(ctx context.Context, contactID, kind string, ttl time.Duration) (store.LinkCode, error) {
	if err := store.ValidContactID(contactID); err != nil {
		return store.LinkCode{}, err
	}
	if kind != store.LinkKindCode && kind != store.LinkKindToken {
		return store.LinkCode{}, fmt.Errorf("store: link code kind %q, want %q or %q", kind, store.LinkKindCode, store.LinkKindToken)
	}
	if ttl <= 0 {
		return store.LinkCode{}, fmt.Errorf("store: link code lifetime %v, want > 0", ttl)
	}
	now := db.now()
	lc := store.LinkCode{Code: store.NewLinkCode(kind), ContactID: contactID, Kind: kind, ExpiresAt: now.Add(ttl)}
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM contacts WHERE id = $1", contactID).Scan(&one)
		if noRows(err) {
			return fmt.Errorf("store: link code for contact %q: %w", contactID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM link_codes WHERE expires_at <= $1 OR (contact_id = $2 AND kind = $3)",
			now, contactID, kind); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO link_codes (key, contact_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
			store.LinkCodeHash(lc.Code), contactID, kind, lc.ExpiresAt)
		return err
	})
	if err != nil {
		return store.LinkCode{}, err
	}
	return lc, nil
}

// LookupLinkCode returns the live code presented by contact by, without
// using it.
func (db *DB) LookupLinkCode(code, by string) (store.LinkCode, error) {
	lc, err := lookupLink(context.Background(), db.pool, code, by, db.now(), false)
	return lc, mapErr(err)
}

func lookupLink(ctx context.Context, q querier, code, by string, now time.Time, lock bool) (store.LinkCode, error) {
	var lc store.LinkCode
	canon, ok := store.ParseLinkCode(code)
	if !ok {
		return lc, fmt.Errorf("%w: not a link code", store.ErrLinkCode)
	}
	sql := "SELECT contact_id, kind, expires_at FROM link_codes WHERE key = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	err := q.QueryRow(ctx, sql, store.LinkCodeHash(canon)).Scan(&lc.ContactID, &lc.Kind, &lc.ExpiresAt)
	if noRows(err) {
		return lc, fmt.Errorf("%w: no such code", store.ErrLinkCode)
	}
	if err != nil {
		return lc, err
	}
	lc.Code, lc.ExpiresAt = canon, lc.ExpiresAt.UTC()
	switch {
	case !lc.ExpiresAt.After(now):
		return lc, fmt.Errorf("%w: expired at %s", store.ErrLinkCode, lc.ExpiresAt.Format(time.RFC3339))
	case lc.ContactID == by:
		return lc, fmt.Errorf("%w: the code is the presenter's own", store.ErrLinkCode)
	}
	return lc, nil
}

// LinkFailed counts a failed attempt of contactID in a window of the given
// length and returns the attempts in the current window.
func (db *DB) LinkFailed(ctx context.Context, contactID string, window time.Duration) (int, error) {
	if err := store.ValidContactID(contactID); err != nil {
		return 0, err
	}
	now := db.now()
	var n int
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM contacts WHERE id = $1", contactID).Scan(&one)
		if noRows(err) {
			return fmt.Errorf("store: link attempt of contact %q: %w", contactID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO link_attempts (contact_id, count, since) VALUES ($1, 1, $2)
			ON CONFLICT (contact_id) DO UPDATE SET
				count = CASE WHEN $2 - link_attempts.since >= $3 THEN 1 ELSE link_attempts.count + 1 END,
				since = CASE WHEN $2 - link_attempts.since >= $3 THEN $2 ELSE link_attempts.since END
			RETURNING count`, contactID, now, window).Scan(&n)
	})
	return n, err
}

// LinkAttempts returns contactID's failed attempts in the current window.
func (db *DB) LinkAttempts(contactID string, window time.Duration) (int, error) {
	n, err := attempts(context.Background(), db.pool, contactID, window, db.now())
	return n, mapErr(err)
}

func attempts(ctx context.Context, q querier, contactID string, window time.Duration, now time.Time) (int, error) {
	var n int
	err := q.QueryRow(ctx, "SELECT count FROM link_attempts WHERE contact_id = $1 AND $2 - since < $3",
		contactID, now, window).Scan(&n)
	if noRows(err) {
		return 0, nil
	}
	return n, err
}

// LinkByCode uses a link code: in one transaction it checks the code and
// the attempt limit, merges the two contacts and commits req.Turn for the
// survivor (store.DB.LinkByCode).
func (db *DB) LinkByCode(ctx context.Context, req store.LinkRequest) (store.LinkResult, error) {
	if err := store.ValidContactID(req.By); err != nil {
		return store.LinkResult{}, err
	}
	if req.Turn.Contact != nil {
		return store.LinkResult{}, fmt.Errorf("store: link by %q: the turn must not update the contact", req.By)
	}
	now := db.now()
	var out store.LinkResult
	err := db.tx(ctx, func(tx pgx.Tx) error {
		if req.MaxAttempts > 0 {
			n, err := attempts(ctx, tx, req.By, req.Window, now)
			if err != nil {
				return err
			}
			if n >= req.MaxAttempts {
				return fmt.Errorf("store: link by %q: %w", req.By, store.ErrLinkLimit)
			}
		}
		lc, err := lookupLink(ctx, tx, req.Code, req.By, now, true)
		if err != nil {
			return err
		}
		if err := lockContacts(ctx, tx, lc.ContactID, req.By); err != nil {
			return err
		}
		owner, err := getContact(ctx, tx, lc.ContactID, false)
		if err != nil {
			return err
		}
		by, err := getContact(ctx, tx, req.By, false)
		if err != nil {
			return err
		}
		hasOpen := func(cid string) (bool, error) {
			var one int
			err := tx.QueryRow(ctx, "SELECT 1 FROM tickets WHERE contact_id = $1 AND status <> 'resolved'", cid).Scan(&one)
			if noRows(err) {
				return false, nil
			}
			return err == nil, err
		}
		byOpen, err := hasOpen(by.ID)
		if err != nil {
			return err
		}
		ownerOpen, err := hasOpen(owner.ID)
		if err != nil {
			return err
		}
		into, from := owner, by
		switch {
		case byOpen && !ownerOpen:
			into, from = by, owner
		case ownerOpen:
		case by.CreatedAt.Before(owner.CreatedAt):
			into, from = by, owner
		}
		if _, err := tx.Exec(ctx, "DELETE FROM link_codes WHERE key = $1", store.LinkCodeHash(lc.Code)); err != nil {
			return err
		}
		mr, err := mergeTx(ctx, tx, into.ID, from.ID, store.MergeOptions{Reason: "link_" + lc.Kind, By: "customer", Session: req.Session}, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM link_attempts WHERE contact_id = $1", into.ID); err != nil {
			return err
		}
		p, err := db.prepareTurn(reown(req.Turn, into.ID))
		if err != nil {
			return err
		}
		p.now, p.dedupeFrom = now, now.Add(-db.retain)
		tr, err := p.apply(ctx, tx)
		if err != nil {
			return err
		}
		out = store.LinkResult{MergeResult: mr, Turn: tr, Owner: owner.ID, Absorbed: from.ID}
		return nil
	})
	if err != nil {
		return store.LinkResult{}, err
	}
	return out, nil
}

// reown returns a copy of t with every record owned by cid.
func reown(t store.Turn, cid string) store.Turn {
	t.ContactID = cid
	t.Messages = append([]store.Message(nil), t.Messages...)
	for i := range t.Messages {
		t.Messages[i].ContactID = cid
	}
	t.Events = append([]store.Event(nil), t.Events...)
	for i := range t.Events {
		t.Events[i].ContactID = cid
	}
	t.Outbox = append([]store.OutboxEntry(nil), t.Outbox...)
	for i := range t.Outbox {
		t.Outbox[i].ContactID = cid
	}
	if t.OpenTicket != nil {
		tk := *t.OpenTicket
		tk.ContactID = cid
		t.OpenTicket = &tk
	}
	return t
}
