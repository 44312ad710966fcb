package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

// checks are the store's invariants the schema's keys and constraints do
// not enforce by themselves, each a query returning one row per problem
// (at most a few, as text). They mirror store.DB.Check where the bbolt
// store's indexes have a relational counterpart.
var checks = []struct{ what, sql string }{
	{"contact without identities", `SELECT id FROM contacts c WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = c.id) LIMIT 5`},
	{"identity order not 0..n-1", `SELECT contact_id FROM identities GROUP BY contact_id
		HAVING min(ord) <> 0 OR max(ord) <> count(*) - 1 OR count(DISTINCT ord) <> count(*) LIMIT 5`},
	{"history not dense from 1 up to msg_seq", `SELECT c.id || ' (msg_seq ' || c.msg_seq || ', ' || count(m.seq) || ' messages, last ' || coalesce(max(m.seq), 0) || ')'
		FROM contacts c LEFT JOIN messages m ON m.contact_id = c.id GROUP BY c.id, c.msg_seq
		HAVING count(m.seq) <> c.msg_seq OR coalesce(max(m.seq), 0) <> c.msg_seq LIMIT 5`},
	{"ticket of a missing contact", `SELECT t.id::text || ' of ' || t.contact_id FROM tickets t
		WHERE NOT starts_with(t.contact_id, '` + store.AnonPrefix + `') AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = t.contact_id) LIMIT 5`},
	{"ticket of a forgotten contact with an address or open", `SELECT id::text FROM tickets
		WHERE starts_with(contact_id, '` + store.AnonPrefix + `') AND (coalesce(doc ->> 'address', '') <> '' OR status <> 'resolved') LIMIT 5`},
	{"merge record without a survivor or an absorbed contact", `SELECT id::text FROM merges WHERE into_id = '' OR from_id = '' LIMIT 5`},
	{"message whose last merge is not a live merge into its contact", `SELECT m.contact_id || '/' || m.seq FROM messages m
		WHERE m.via IS NOT NULL AND cardinality(m.via) > 0 AND NOT EXISTS (SELECT 1 FROM merges g
			WHERE g.id = m.via[cardinality(m.via)] AND g.into_id = m.contact_id AND NOT g.doc ? 'undone_at') LIMIT 5`},
	{"file of an unknown contact", `SELECT f.id FROM files f WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = f.contact_id)
		AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.from_id = f.contact_id) LIMIT 5`},
	{"file whose bytes differ from its record", `SELECT id FROM files WHERE (doc ? 'erased') <> (data IS NULL)
		OR (data IS NOT NULL AND (length(data) <> (doc ->> 'size')::bigint OR encode(sha256(data), 'hex') <> doc ->> 'sha256')) LIMIT 5`},
	{"consent of an unknown contact", `SELECT s.contact_id || '/' || s.channel FROM consent s WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = s.contact_id)
		AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.from_id = s.contact_id) LIMIT 5`},
}

// Check verifies the schema version and the invariants above in one
// read-only snapshot; an error lists what is wrong. For tests and offline
// tools, not a hot path: several queries scan whole tables.
func (db *DB) Check() error {
	ctx := context.Background()
	var errs []error
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var v int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
			return err
		}
		if v != SchemaVersion() {
			errs = append(errs, fmt.Errorf("schema version %d, want %d", v, SchemaVersion()))
		}
		for _, c := range checks {
			rows, err := tx.Query(ctx, c.sql)
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			if len(bad) > 0 {
				errs = append(errs, fmt.Errorf("%s: %v", c.what, bad))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: check: %w", mapErr(err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("postgres: check: %w", errors.Join(errs...))
	}
	return nil
}
