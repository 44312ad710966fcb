package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ConsoleSession is a signed-in agent console, kept so that a restart does
// not sign agents out. It is stored under the SHA-256 of its cookie, so a
// copy of the file signs nobody in. A new password for the agent (PutAgent
// with another hash, from the console or the CLI) deletes the agent's
// sessions in the same transaction.
type ConsoleSession struct {
	Key     string    `json:"-"` // SHA-256 of the cookie value: 32 raw bytes
	AgentID string    `json:"agent_id"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
}

const consoleKeyLen = 32

func validConsoleSession(s ConsoleSession) error {
	switch {
	case len(s.Key) != consoleKeyLen:
		return fmt.Errorf("store: console session key of %d bytes, want %d", len(s.Key), consoleKeyLen)
	case s.AgentID == "":
		return fmt.Errorf("store: console session without an agent")
	case s.Expires.IsZero():
		return fmt.Errorf("store: console session of %q without an expiry", s.AgentID)
	}
	return nil
}

// PutConsoleSession creates or replaces s.
func (db *DB) PutConsoleSession(ctx context.Context, s ConsoleSession) error {
	if err := validConsoleSession(s); err != nil {
		return err
	}
	return db.write(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bConsoleSessions), []byte(s.Key), s)
	})
}

// DeleteConsoleSessions deletes the sessions with these keys; unknown keys
// are not an error.
func (db *DB) DeleteConsoleSessions(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return db.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsoleSessions)
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConsoleSessions returns every stored console session, expired ones too
// (the caller drops those). A record that does not decode is skipped, not
// an error: it signs nobody in, and the others stay usable (Check reports
// it).
func (db *DB) ConsoleSessions() ([]ConsoleSession, error) {
	var out []ConsoleSession
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bConsoleSessions).ForEach(func(k, v []byte) error {
			if s, err := decodeConsoleSession(k, v); err == nil {
				out = append(out, s)
			}
			return nil
		})
	})
	return out, err
}

func decodeConsoleSession(k, v []byte) (ConsoleSession, error) {
	var s ConsoleSession
	if err := json.Unmarshal(v, &s); err != nil {
		return s, fmt.Errorf("store: console session %x: %w", k, err)
	}
	s.Key = string(k)
	if err := validConsoleSession(s); err != nil {
		return s, err
	}
	return s, nil
}

// deleteAgentSessions deletes agentID's console sessions (a new password).
// A record that does not decode is dropped with them: it can sign nobody in
// either way.
func deleteAgentSessions(tx *bolt.Tx, agentID string) error {
	return deleteWhere(tx.Bucket(bConsoleSessions), func(v []byte) bool {
		var s ConsoleSession
		return json.Unmarshal(v, &s) != nil || s.AgentID == agentID
	})
}

func migrateV5(tx *bolt.Tx) error {
	_, err := tx.CreateBucketIfNotExists(bConsoleSessions)
	return err
}

// checkConsoleSessions reports stored sessions that do not decode.
func checkConsoleSessions(tx *bolt.Tx, add addFunc) {
	_ = tx.Bucket(bConsoleSessions).ForEach(func(k, v []byte) error {
		if _, err := decodeConsoleSession(k, v); err != nil {
			add("%v", err)
		}
		return nil
	})
}
