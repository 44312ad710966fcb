package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"
)

// Agent is a human account of the agent console. Names are unique without
// regard to case.
type Agent struct {
	ID          string `json:"id"`
	Name        string `json:"name"` // login
	DisplayName string `json:"display_name,omitempty"`
	Role        string `json:"role"`
	// PasswordHash (bcrypt) is never encoded by encoding/json, so an Agent
	// can be served as JSON without leaking it.
	PasswordHash []byte `json:"-"`
	// PasswordOneTime marks a password the server generated and printed
	// (parley agents add, serve --demo-agent): it opens one sign-in, after
	// which the agent must choose their own. Records written before the
	// field existed decode as false, i.e. a password the agent chose.
	PasswordOneTime bool      `json:"password_one_time,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// agentRecord is the stored form, which does keep the hash.
type agentRecord struct {
	Agent
	Hash []byte `json:"password_hash,omitempty"`
}

func (r agentRecord) agent() Agent {
	a := r.Agent
	a.PasswordHash = r.Hash
	return a
}

func validAgent(a Agent) error {
	switch {
	case a.Name == "" || len(a.Name) > 64:
		return fmt.Errorf("store: agent name %q: want 1..64 bytes", a.Name)
	case strings.IndexFunc(a.Name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("store: agent name %q: no spaces or control characters", a.Name)
	case a.Role == "":
		return fmt.Errorf("store: agent %q: empty role", a.Name)
	case strings.IndexByte(a.ID, 0) >= 0 || len(a.ID) > 64:
		return fmt.Errorf("store: agent id %q: bad id", a.ID)
	}
	return nil
}

// PutAgent creates or replaces the agent with a.ID (an empty ID creates a
// new agent with a generated one; look it up with AgentByName). A name that
// belongs to another agent is ErrDuplicate. CreatedAt defaults to now and is
// kept across replacements.
func (db *DB) PutAgent(ctx context.Context, a Agent) error {
	if err := validAgent(a); err != nil {
		return err
	}
	now := db.now()
	if a.ID == "" {
		a.ID = newID("a_", now)
	}
	return db.write(ctx, func(tx *bolt.Tx) error {
		agents, names := tx.Bucket(bAgents), tx.Bucket(bAgentNames)
		rec := agentRecord{Agent: a, Hash: a.PasswordHash}
		rec.PasswordHash = nil
		name := []byte(strings.ToLower(a.Name))
		if owner := names.Get(name); owner != nil && string(owner) != a.ID {
			return fmt.Errorf("store: agent name %q is taken by %q: %w", a.Name, owner, ErrDuplicate)
		}
		if v := agents.Get([]byte(a.ID)); v != nil {
			var old agentRecord
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("store: agent %q: %w", a.ID, err)
			}
			if rec.CreatedAt.IsZero() {
				rec.CreatedAt = old.CreatedAt
			}
			if !bytes.Equal(old.Hash, rec.Hash) {
				// A new password signs the agent out everywhere, also when
				// it is set offline with the CLI.
				if err := deleteAgentSessions(tx, a.ID); err != nil {
					return err
				}
			}
			if oldName := strings.ToLower(old.Name); oldName != string(name) {
				if err := names.Delete([]byte(oldName)); err != nil {
					return err
				}
			}
		}
		if rec.CreatedAt.IsZero() {
			rec.CreatedAt = now
		}
		if err := putJSON(agents, []byte(a.ID), rec); err != nil {
			return err
		}
		return names.Put(name, []byte(a.ID))
	})
}

// Agent returns the agent with id.
func (db *DB) Agent(id string) (Agent, error) {
	var a Agent
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		a, err = getAgent(tx, id)
		return err
	})
	return a, err
}

// AgentByName returns the agent whose name matches without regard to case.
func (db *DB) AgentByName(name string) (Agent, error) {
	var a Agent
	err := db.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bAgentNames).Get([]byte(strings.ToLower(name)))
		if id == nil {
			return fmt.Errorf("store: agent named %q: %w", name, ErrNotFound)
		}
		var err error
		a, err = getAgent(tx, string(id))
		return err
	})
	return a, err
}

// Agents returns every agent in ID order.
func (db *DB) Agents() ([]Agent, error) {
	var out []Agent
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bAgents).ForEach(func(k, v []byte) error {
			var r agentRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: agent %q: %w", k, err)
			}
			out = append(out, r.agent())
			return nil
		})
	})
	return out, err
}

func getAgent(tx *bolt.Tx, id string) (Agent, error) {
	v := tx.Bucket(bAgents).Get([]byte(id))
	if v == nil {
		return Agent{}, fmt.Errorf("store: agent %q: %w", id, ErrNotFound)
	}
	var r agentRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return Agent{}, fmt.Errorf("store: agent %q: %w", id, err)
	}
	return r.agent(), nil
}
