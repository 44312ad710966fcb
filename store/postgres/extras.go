package postgres

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// Saved replies, cascades, API keys and consent: small tables with the
// bbolt store's rules (store/replies.go, cascade.go, apikeys.go,
// consent.go).

// SavedReplies returns the saved replies by id.
func (db *DB) SavedReplies() ([]store.SavedReply, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT doc FROM saved_replies ORDER BY id")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SavedReply, error) {
		var s store.SavedReply
		err := r.Scan(&s)
		s.UpdatedAt = s.UpdatedAt.UTC()
		return s, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// PutSavedReply creates or replaces the saved reply r.ID, stamped with the
// time; created says it is new. ErrConflict when MaxSavedReplies exist.
func (db *DB) PutSavedReply(ctx context.Context, r store.SavedReply) (created bool, err error) {
	if err := store.ValidSavedReply(r); err != nil {
		return false, err
	}
	r.UpdatedAt = db.now()
	doc, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	err = db.tx(ctx, func(tx pgx.Tx) error {
		// One writer at a time, so the limit holds under concurrent creates.
		if _, err := tx.Exec(ctx, "LOCK TABLE saved_replies IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var n int
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT count(*), coalesce(bool_or(id = $1), false) FROM saved_replies", r.ID).Scan(&n, &exists); err != nil {
			return err
		}
		created = !exists
		if created && n >= store.MaxSavedReplies {
			return fmt.Errorf("store: %d saved replies already, the limit: %w", n, store.ErrConflict)
		}
		_, err := tx.Exec(ctx, `INSERT INTO saved_replies (id, doc) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, r.ID, doc)
		return err
	})
	return created, err
}

// DeleteSavedReply removes the saved reply id; ErrNotFound when there is
// none.
func (db *DB) DeleteSavedReply(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM saved_replies WHERE id = $1", id)
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: saved reply %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// PutCascade stores a cascade's state.
func (db *DB) PutCascade(ctx context.Context, id string, data []byte) error {
	if err := store.ValidCascade(id, data); err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO cascades (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data`, id, data)
	return mapErr(err)
}

// Cascade returns one cascade's state; ErrNotFound when none.
func (db *DB) Cascade(id string) ([]byte, error) {
	var out []byte
	err := db.pool.QueryRow(context.Background(), "SELECT data FROM cascades WHERE id = $1", id).Scan(&out)
	if noRows(err) {
		return nil, fmt.Errorf("store: cascade %q: %w", id, store.ErrNotFound)
	}
	return out, mapErr(err)
}

// Cascades lists every stored cascade, by id.
func (db *DB) Cascades() ([]store.CascadeRecord, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT id, data FROM cascades ORDER BY id")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.CascadeRecord, error) {
		var c store.CascadeRecord
		return c, r.Scan(&c.ID, &c.Data)
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// CreateAPIKey stores a new key named name with scopes and returns the
// record and the key, which is never available again.
func (db *DB) CreateAPIKey(ctx context.Context, name string, scopes []string) (store.APIKey, string, error) {
	k, secret, hash, err := store.NewAPIKey(name, scopes, db.now())
	if err != nil {
		return store.APIKey{}, "", err
	}
	doc, err := json.Marshal(k)
	if err != nil {
		return store.APIKey{}, "", err
	}
	if _, err := db.pool.Exec(ctx, "INSERT INTO api_keys (hash, id, doc) VALUES ($1, $2, $3)", hash[:], k.ID, doc); err != nil {
		return store.APIKey{}, "", mapErr(err)
	}
	return k, secret, nil
}

// APIKeyBySecret returns the live key whose secret is secret; ErrNotFound
// for an unknown or revoked one (the caller need not tell them apart).
func (db *DB) APIKeyBySecret(secret string) (store.APIKey, error) {
	sum, ok := store.APIKeyHash(secret)
	if !ok {
		return store.APIKey{}, fmt.Errorf("store: api key: %w", store.ErrNotFound)
	}
	var hash []byte
	var k store.APIKey
	err := db.pool.QueryRow(context.Background(), "SELECT hash, doc FROM api_keys WHERE hash = $1", sum[:]).Scan(&hash, &k)
	if noRows(err) || (err == nil && (subtle.ConstantTimeCompare(hash, sum[:]) != 1 || k.Revoked())) {
		return store.APIKey{}, fmt.Errorf("store: api key: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, mapErr(err)
	}
	return fixAPIKey(k), nil
}

// fixAPIKey reads a key's times back in UTC, as the bbolt store returns
// them.
func fixAPIKey(k store.APIKey) store.APIKey {
	k.CreatedAt = k.CreatedAt.UTC()
	if !k.RevokedAt.IsZero() {
		k.RevokedAt = k.RevokedAt.UTC()
	}
	return k
}

// APIKeys lists every key, revoked ones included, oldest first.
func (db *DB) APIKeys() ([]store.APIKey, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT doc FROM api_keys ORDER BY id")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.APIKey, error) {
		var k store.APIKey
		err := r.Scan(&k)
		return fixAPIKey(k), err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// RevokeAPIKey revokes the key with id or name (the only live key of that
// name). ErrNotFound when none matches, ErrConflict when a name is shared
// by several live keys. Revoking a revoked key is not an error.
func (db *DB) RevokeAPIKey(ctx context.Context, idOrName string) (store.APIKey, error) {
	var out store.APIKey
	now := db.now()
	err := db.tx(ctx, func(tx pgx.Tx) error {
		var hash []byte
		var k store.APIKey
		err := tx.QueryRow(ctx, "SELECT hash, doc FROM api_keys WHERE id = $1 FOR UPDATE", idOrName).Scan(&hash, &k)
		if noRows(err) {
			rows, err := tx.Query(ctx, `SELECT hash, doc FROM api_keys WHERE name = $1 AND NOT doc ? 'revoked_at' FOR UPDATE`, idOrName)
			if err != nil {
				return err
			}
			type hk struct {
				hash []byte
				k    store.APIKey
			}
			match, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hk, error) {
				var x hk
				return x, r.Scan(&x.hash, &x.k)
			})
			if err != nil {
				return err
			}
			switch len(match) {
			case 0:
				return fmt.Errorf("store: api key %q: %w", idOrName, store.ErrNotFound)
			case 1:
				hash, k = match[0].hash, match[0].k
			default:
				return fmt.Errorf("store: %d live api keys are named %q; revoke by id: %w", len(match), idOrName, store.ErrConflict)
			}
		} else if err != nil {
			return err
		}
		k = fixAPIKey(k)
		if !k.Revoked() {
			k.RevokedAt = now
		}
		out = k
		doc, err := json.Marshal(k)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE api_keys SET doc = $2 WHERE hash = $1", hash, doc)
		return err
	})
	return out, err
}

// SetConsent records whether the contact opted out of marketing on channel.
// changed is false when it was already so (a second "stop" is not news).
func (db *DB) SetConsent(ctx context.Context, contactID, channel string, optedOut bool, source string) (changed bool, err error) {
	if err := store.ValidContactID(contactID); err != nil {
		return false, err
	}
	if err := store.ValidConsentChannel(channel); err != nil {
		return false, err
	}
	now := db.now()
	err = db.tx(ctx, func(tx pgx.Tx) error {
		changed = false
		// The contact's row lock orders this with a merge or an erasure.
		if err := tx.QueryRow(ctx, "SELECT id FROM contacts WHERE id = $1 FOR SHARE", contactID).Scan(new(string)); noRows(err) {
			return fmt.Errorf("store: consent of contact %q: %w", contactID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		var cur bool
		err := tx.QueryRow(ctx, "SELECT opted_out FROM consent WHERE contact_id = $1 AND channel = $2 FOR UPDATE", contactID, channel).Scan(&cur)
		switch {
		case err == nil && cur == optedOut:
			return nil
		case noRows(err) && !optedOut:
			return nil // consent is the default: nothing to record
		case err != nil && !noRows(err):
			return err
		}
		changed = true
		_, err = tx.Exec(ctx, `INSERT INTO consent (contact_id, channel, opted_out, at, source) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (contact_id, channel) DO UPDATE SET opted_out = EXCLUDED.opted_out, at = EXCLUDED.at, source = EXCLUDED.source`,
			contactID, channel, optedOut, now, source)
		return err
	})
	return changed, err
}

// Consents lists the contact's recorded consent per channel, by channel.
func (db *DB) Consents(contactID string) ([]store.Consent, error) {
	return consents(context.Background(), db.pool, contactID)
}

func consents(ctx context.Context, q querier, contactID string) ([]store.Consent, error) {
	rows, err := q.Query(ctx, "SELECT channel, opted_out, at, source FROM consent WHERE contact_id = $1 ORDER BY channel", contactID)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Consent, error) {
		var c store.Consent
		err := r.Scan(&c.Channel, &c.OptedOut, &c.At, &c.Source)
		c.At = c.At.UTC()
		return c, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// OptedOut reports whether the contact opted out of marketing on channel.
func (db *DB) OptedOut(contactID, channel string) (bool, error) {
	var out bool
	err := db.pool.QueryRow(context.Background(), "SELECT opted_out FROM consent WHERE contact_id = $1 AND channel = $2",
		contactID, channel).Scan(&out)
	if noRows(err) {
		return false, nil
	}
	return out, mapErr(err)
}

// mergeConsent gives intoID the consent fromID recorded (an opt-out on a
// channel wins over intoID's own record). fromID's records stay, so an
// undone merge gives that contact back its own.
func mergeConsent(ctx context.Context, tx pgx.Tx, intoID, fromID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO consent (contact_id, channel, opted_out, at, source)
		SELECT $1, channel, opted_out, at, source FROM consent WHERE contact_id = $2
		ON CONFLICT (contact_id, channel) DO UPDATE SET opted_out = EXCLUDED.opted_out, at = EXCLUDED.at, source = EXCLUDED.source
		WHERE EXCLUDED.opted_out`, intoID, fromID)
	return err
}
