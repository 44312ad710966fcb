package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// querier is what reads need of a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const contactSelect = `SELECT c.id, c.name, c.lang, c.fields, c.created_at, c.updated_at, c.rev,
	coalesce((SELECT array_agg(i.identity ORDER BY i.ord) FROM identities i WHERE i.contact_id = c.id), '{}'),
	(SELECT jsonb_object_agg(i.identity, i.profile) FROM identities i WHERE i.contact_id = c.id AND i.profile IS NOT NULL)
	FROM contacts c`

func getContact(ctx context.Context, q querier, id string, lock bool) (store.Contact, error) {
	sql := contactSelect + " WHERE c.id = $1"
	if lock {
		sql += " FOR UPDATE OF c"
	}
	c, err := scanContact(q.QueryRow(ctx, sql, id))
	if noRows(err) {
		return c, fmt.Errorf("store: contact %q: %w", id, store.ErrNotFound)
	}
	return c, err
}

func scanContact(row pgx.Row) (store.Contact, error) {
	var c store.Contact
	var fields map[string]string
	var profiles map[string]store.Profile
	err := row.Scan(&c.ID, &c.Name, &c.Lang, &fields, &c.CreatedAt, &c.UpdatedAt, &c.Rev, &c.Identities, &profiles)
	if len(fields) > 0 {
		c.Fields = fields
	}
	if len(profiles) > 0 {
		c.Profiles = profiles
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func nullFields(m map[string]string) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// ResolveContact returns the contact owning identity, creating it when none
// does. Name and Lang fill the stored ones only when those are empty.
func (db *DB) ResolveContact(ctx context.Context, identity, name, lang string) (c store.Contact, created bool, err error) {
	if err := store.ValidIdentity(identity); err != nil {
		return store.Contact{}, false, err
	}
	name, lang = store.ClipContactInput(name, lang)
	c, err = db.ContactByIdentity(identity)
	if err == nil && !(c.Name == "" && name != "") && !(c.Lang == "" && lang != "") {
		return c, false, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Contact{}, false, err
	}
	now := db.now()
	newCID := store.NewID("c_", now)
	for range 5 {
		raced := false
		err = db.tx(ctx, func(tx pgx.Tx) error {
			created, raced = false, false
			var id string
			err := tx.QueryRow(ctx, "SELECT contact_id FROM identities WHERE identity = $1", identity).Scan(&id)
			if err == nil {
				cur, err := getContact(ctx, tx, id, true)
				if err != nil {
					return err
				}
				changed := false
				if cur.Name == "" && name != "" {
					cur.Name, changed = name, true
				}
				if cur.Lang == "" && lang != "" {
					cur.Lang, changed = lang, true
				}
				if changed {
					cur.UpdatedAt = now
					cur.Rev++
					if _, err := tx.Exec(ctx, "UPDATE contacts SET name = $2, lang = $3, updated_at = $4, rev = $5 WHERE id = $1",
						cur.ID, cur.Name, cur.Lang, now, cur.Rev); err != nil {
						return err
					}
				}
				c = cur
				return nil
			}
			if !noRows(err) {
				return err
			}
			c = store.Contact{ID: newCID, Name: name, Lang: lang, Identities: []string{identity}, CreatedAt: now, UpdatedAt: now, Rev: 1}
			if _, err := tx.Exec(ctx, "INSERT INTO contacts (id, name, lang, created_at, updated_at, rev) VALUES ($1, $2, $3, $4, $4, 1)",
				c.ID, name, lang, now); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, "INSERT INTO identities (identity, contact_id, ord) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING", identity, c.ID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				// Another process created it meanwhile: roll back, read theirs.
				raced = true
				return errRaced
			}
			created = true
			return nil
		})
		if !raced {
			break
		}
	}
	if err != nil {
		return store.Contact{}, false, err
	}
	return c, created, nil
}

var errRaced = errors.New("postgres: raced, retry")

// Contact returns the contact with id.
func (db *DB) Contact(id string) (store.Contact, error) {
	c, err := getContact(context.Background(), db.pool, id, false)
	return c, mapErr(err)
}

// ContactByIdentity returns the contact owning identity ("telegram:42").
func (db *DB) ContactByIdentity(identity string) (store.Contact, error) {
	c, err := scanContact(db.pool.QueryRow(context.Background(),
		contactSelect+" WHERE c.id = (SELECT contact_id FROM identities WHERE identity = $1)", identity))
	if noRows(err) {
		return c, fmt.Errorf("store: identity %q: %w", identity, store.ErrNotFound)
	}
	return c, mapErr(err)
}

// updateContactTx stores a new version of an existing contact and keeps its
// identities in step, as the bbolt store's: an added identity must be free
// (ErrConflict otherwise), removed ones are released.
func updateContactTx(ctx context.Context, tx pgx.Tx, c store.Contact, now time.Time) error {
	old, err := getContact(ctx, tx, c.ID, true)
	if err != nil {
		return err
	}
	if c.Rev != 0 && c.Rev != old.Rev {
		return fmt.Errorf("store: contact %q changed since it was read (rev %d, now %d): %w", c.ID, c.Rev, old.Rev, store.ErrConflict)
	}
	for _, identity := range old.Identities {
		if !slices.Contains(c.Identities, identity) {
			if _, err := tx.Exec(ctx, "DELETE FROM identities WHERE identity = $1", identity); err != nil {
				return err
			}
		}
	}
	for i, identity := range c.Identities {
		var owner string
		err := tx.QueryRow(ctx, `INSERT INTO identities (identity, contact_id, ord) VALUES ($1, $2, $3)
			ON CONFLICT (identity) DO UPDATE SET ord = EXCLUDED.ord WHERE identities.contact_id = EXCLUDED.contact_id
			RETURNING contact_id`, identity, c.ID, i).Scan(&owner)
		if noRows(err) {
			_ = tx.QueryRow(ctx, "SELECT contact_id FROM identities WHERE identity = $1", identity).Scan(&owner)
			return fmt.Errorf("store: identity %q belongs to contact %q: %w", identity, owner, store.ErrConflict)
		}
		if err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, "UPDATE contacts SET name = $2, lang = $3, fields = $4, updated_at = $5, rev = rev + 1 WHERE id = $1",
		c.ID, c.Name, c.Lang, nullFields(c.Fields), now)
	return err
}

// Session returns the contact's session state, nil (and no error) when none.
func (db *DB) Session(contactID string) ([]byte, error) {
	var s []byte
	err := db.pool.QueryRow(context.Background(), "SELECT state FROM sessions WHERE contact_id = $1", contactID).Scan(&s)
	if noRows(err) {
		return nil, nil
	}
	return s, mapErr(err)
}

// chunk is how many rows a scanning read fetches per query; the callback
// runs between queries, holding no transaction.
const chunk = 512

// Sessions calls fn for every stored session in contact id order.
func (db *DB) Sessions(fn func(contactID string, state []byte) error) error {
	after := ""
	for {
		type kv struct {
			id    string
			state []byte
		}
		rows, err := db.pool.Query(context.Background(),
			"SELECT contact_id, state FROM sessions WHERE contact_id > $1 ORDER BY contact_id LIMIT $2", after, chunk)
		if err != nil {
			return mapErr(err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kv, error) {
			var x kv
			return x, r.Scan(&x.id, &x.state)
		})
		if err != nil {
			return err
		}
		for _, x := range batch {
			if err := fn(x.id, x.state); err != nil {
				return err
			}
		}
		if len(batch) < chunk {
			return nil
		}
		after = batch[len(batch)-1].id
	}
}
