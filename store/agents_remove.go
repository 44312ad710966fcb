package store

import (
	"context"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// DeleteAgent removes the agent with id, its name and its console sessions
// in one transaction. Tickets keep the id in their history (AgentID, notes,
// events), so a removed agent's past work still reads as theirs; the
// caller decides what happens to tickets the agent still holds.
func (db *DB) DeleteAgent(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *bolt.Tx) error {
		a, err := getAgent(tx, id)
		if err != nil {
			return err
		}
		names := tx.Bucket(bAgentNames)
		name := []byte(strings.ToLower(a.Name))
		if owner := names.Get(name); owner != nil && string(owner) == id {
			if err := names.Delete(name); err != nil {
				return err
			}
		}
		if err := deleteAgentSessions(tx, id); err != nil {
			return err
		}
		return tx.Bucket(bAgents).Delete([]byte(id))
	})
}
