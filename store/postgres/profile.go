package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// SetProfile records what the channel says about identity's customer now,
// replacing what it said before; it writes (and bumps the contact's rev)
// only when something changed. ErrNotFound when no contact has the
// identity. The profile lives on the identity's row, so merges and their
// undo move it with the identity.
func (db *DB) SetProfile(ctx context.Context, identity string, p store.Profile) error {
	if err := store.ValidIdentity(identity); err != nil {
		return err
	}
	p = store.CleanProfile(p)
	var stored any
	if len(p) > 0 {
		stored = p
	}
	now := db.now()
	// Each retry follows a merge or undo that moved the identity meanwhile:
	// rare, but a burst of them (an operator undoing and redoing) must not
	// lose what the channel said.
	for range 50 {
		err := db.tx(ctx, func(tx pgx.Tx) error {
			// The contact's row first, as turns and merges lock it: then the
			// identity cannot move (a merge locks both contacts) and no
			// lock order is crossed.
			var cid string
			err := tx.QueryRow(ctx, "SELECT contact_id FROM identities WHERE identity = $1", identity).Scan(&cid)
			if noRows(err) {
				return fmt.Errorf("store: identity %q: %w", identity, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if err := lockContacts(ctx, tx, cid); errors.Is(err, store.ErrNotFound) {
				return errRaced // merged away meanwhile
			} else if err != nil {
				return err
			}
			var owner string
			var cur store.Profile
			err = tx.QueryRow(ctx, "SELECT contact_id, profile FROM identities WHERE identity = $1", identity).Scan(&owner, &cur)
			if noRows(err) {
				return fmt.Errorf("store: identity %q: %w", identity, store.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if owner != cid {
				return errRaced
			}
			if maps.Equal(cur, p) {
				return nil
			}
			if _, err := tx.Exec(ctx, "UPDATE identities SET profile = $2 WHERE identity = $1", identity, stored); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "UPDATE contacts SET updated_at = $2, rev = rev + 1 WHERE id = $1", cid, now)
			return err
		})
		if !errors.Is(err, errRaced) {
			return err
		}
	}
	return fmt.Errorf("store: profile of %q: its contact kept changing: %w", identity, store.ErrConflict)
}

// moveProfiles moves the profiles of identities from one contact's map to
// another's, as the bbolt store does in memory (the rows already moved).
func moveProfiles(from, into map[string]store.Profile, identities []string) (f, i map[string]store.Profile) {
	for _, id := range identities {
		p, ok := from[id]
		if !ok {
			continue
		}
		if into == nil {
			into = map[string]store.Profile{}
		}
		into[id] = p
		delete(from, id)
	}
	if len(from) == 0 {
		from = nil
	}
	return from, into
}
