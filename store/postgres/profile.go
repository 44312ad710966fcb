package postgres

import (
	"context"
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
	return db.tx(ctx, func(tx pgx.Tx) error {
		var cid string
		var cur store.Profile
		err := tx.QueryRow(ctx, "SELECT contact_id, profile FROM identities WHERE identity = $1 FOR UPDATE", identity).Scan(&cid, &cur)
		if noRows(err) {
			return fmt.Errorf("store: identity %q: %w", identity, store.ErrNotFound)
		}
		if err != nil {
			return err
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
