package store

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// An agent record written before PasswordOneTime existed carries no such
// key: it must read as a password the agent chose, not lock them out.
func TestAgentRecordWithoutOneTimeFlag(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "p.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const old = `{"id":"a_1","name":"olga","role":"agent","created_at":"2026-01-02T03:04:05Z","password_hash":"aA=="}`
	err = db.write(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.Bucket(bAgents).Put([]byte("a_1"), []byte(old)); err != nil {
			return err
		}
		return tx.Bucket(bAgentNames).Put([]byte("olga"), []byte("a_1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.AgentByName("olga")
	if err != nil || a.PasswordOneTime || string(a.PasswordHash) != "h" {
		t.Fatalf("old record = %+v, %v; want PasswordOneTime false and hash kept", a, err)
	}

	// And the flag survives a write and a read.
	a.PasswordOneTime = true
	if err := db.PutAgent(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Agent("a_1"); err != nil || !got.PasswordOneTime {
		t.Fatalf("after PutAgent = %+v, %v; want PasswordOneTime", got, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}
