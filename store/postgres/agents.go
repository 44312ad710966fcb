package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/store"
)

const agentSelect = "SELECT id, name, display_name, role, password_hash, password_one_time, created_at FROM agents"

func scanAgent(row pgx.Row) (store.Agent, error) {
	var a store.Agent
	err := row.Scan(&a.ID, &a.Name, &a.DisplayName, &a.Role, &a.PasswordHash, &a.PasswordOneTime, &a.CreatedAt)
	a.CreatedAt = a.CreatedAt.UTC()
	if len(a.PasswordHash) == 0 {
		a.PasswordHash = nil
	}
	return a, err
}

// PutAgent creates or replaces the agent with a.ID (an empty ID creates one
// with a generated id). A name another agent has is ErrDuplicate. A new
// password hash signs the agent out of every console session.
func (db *DB) PutAgent(ctx context.Context, a store.Agent) error {
	if err := store.ValidAgent(a); err != nil {
		return err
	}
	now := db.now()
	if a.ID == "" {
		a.ID = store.NewID("a_", now)
	}
	nameKey := strings.ToLower(a.Name)
	return db.tx(ctx, func(tx pgx.Tx) error {
		var owner string
		err := tx.QueryRow(ctx, "SELECT id FROM agents WHERE name_key = $1", nameKey).Scan(&owner)
		if err == nil && owner != a.ID {
			return fmt.Errorf("store: agent name %q is taken by %q: %w", a.Name, owner, store.ErrDuplicate)
		}
		if err != nil && !noRows(err) {
			return err
		}
		created := pgTime(a.CreatedAt)
		old, err := scanAgent(tx.QueryRow(ctx, agentSelect+" WHERE id = $1 FOR UPDATE", a.ID))
		switch {
		case err == nil:
			if created.IsZero() {
				created = old.CreatedAt
			}
			if !bytes.Equal(old.PasswordHash, a.PasswordHash) {
				if _, err := tx.Exec(ctx, "DELETE FROM console_sessions WHERE agent_id = $1", a.ID); err != nil {
					return err
				}
			}
		case !noRows(err):
			return err
		}
		if created.IsZero() {
			created = now
		}
		_, err = tx.Exec(ctx, `INSERT INTO agents (id, name, name_key, display_name, role, password_hash, password_one_time, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_key = EXCLUDED.name_key,
				display_name = EXCLUDED.display_name, role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
				password_one_time = EXCLUDED.password_one_time, created_at = EXCLUDED.created_at`,
			a.ID, a.Name, nameKey, a.DisplayName, a.Role, a.PasswordHash, a.PasswordOneTime, created)
		if _, ok := uniqueViolation(err); ok {
			return fmt.Errorf("store: agent name %q is taken: %w", a.Name, store.ErrDuplicate)
		}
		return err
	})
}

// Agent returns the agent with id.
func (db *DB) Agent(id string) (store.Agent, error) {
	a, err := scanAgent(db.pool.QueryRow(context.Background(), agentSelect+" WHERE id = $1", id))
	if noRows(err) {
		return a, fmt.Errorf("store: agent %q: %w", id, store.ErrNotFound)
	}
	return a, mapErr(err)
}

// AgentByName returns the agent whose name matches without regard to case.
func (db *DB) AgentByName(name string) (store.Agent, error) {
	a, err := scanAgent(db.pool.QueryRow(context.Background(), agentSelect+" WHERE name_key = $1", strings.ToLower(name)))
	if noRows(err) {
		return a, fmt.Errorf("store: agent named %q: %w", name, store.ErrNotFound)
	}
	return a, mapErr(err)
}

// Agents returns every agent in ID order.
func (db *DB) Agents() ([]store.Agent, error) {
	rows, err := db.pool.Query(context.Background(), agentSelect+" ORDER BY id")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Agent, error) { return scanAgent(r) })
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// DeleteAgent removes the agent with id and its console sessions.
func (db *DB) DeleteAgent(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM agents WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("store: agent %q: %w", id, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, "DELETE FROM console_sessions WHERE agent_id = $1", id)
		return err
	})
}

// PutConsoleSession creates or replaces s.
func (db *DB) PutConsoleSession(ctx context.Context, s store.ConsoleSession) error {
	if err := store.ValidConsoleSession(s); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO console_sessions (key, agent_id, csrf, expires) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key) DO UPDATE SET agent_id = EXCLUDED.agent_id, csrf = EXCLUDED.csrf, expires = EXCLUDED.expires`,
		[]byte(s.Key), s.AgentID, s.CSRF, pgTime(s.Expires))
	return mapErr(err)
}

// DeleteConsoleSessions deletes the sessions with these keys.
func (db *DB) DeleteConsoleSessions(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	bs := make([][]byte, len(keys))
	for i, k := range keys {
		bs[i] = []byte(k)
	}
	_, err := db.pool.Exec(ctx, "DELETE FROM console_sessions WHERE key = ANY($1)", bs)
	return mapErr(err)
}

// ConsoleSessions returns every stored console session, expired ones too.
func (db *DB) ConsoleSessions() ([]store.ConsoleSession, error) {
	rows, err := db.pool.Query(context.Background(), "SELECT key, agent_id, csrf, expires FROM console_sessions ORDER BY key")
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ConsoleSession, error) {
		var s store.ConsoleSession
		var key []byte
		var exp time.Time
		err := r.Scan(&key, &s.AgentID, &s.CSRF, &exp)
		s.Key, s.Expires = string(key), exp.UTC()
		return s, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, err
}
