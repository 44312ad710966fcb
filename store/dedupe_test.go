package store

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// putLegacyKey records an event key the way schema 3 did: in the dedupe
// bucket and its time index.
func putLegacyKey(t *testing.T, db *DB, key string, at time.Time) {
	t.Helper()
	err := db.write(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.Bucket(bDedupe).Put([]byte(key), timeKey(at)); err != nil {
			return err
		}
		return tx.Bucket(bDedupeTime).Put(dedupeTimeKey(timeKey(at), []byte(key)), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Keys a schema-3 binary recorded still count until the janitor, which
// starts at Open, prunes them after the retention.
func TestLegacyDedupeKeysAreHonouredThenPruned(t *testing.T) {
	path := t.TempDir() + "/parley.db"
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	clock := func() time.Time { return now }
	db, err := Open(path, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.ResolveContact(context.Background(), "telegram:1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	putLegacyKey(t, db, "telegram:1|tg:1", t0)
	if _, dup, _ := db.Enqueue(context.Background(), c.ID, "telegram:1|tg:1", nil); !dup {
		t.Error("a schema-3 dedupe key is not honoured")
	}
	if _, err := db.Commit(context.Background(), Turn{ContactID: c.ID, EventKey: "telegram:1|tg:1"}); err == nil {
		t.Error("a turn for a schema-3 dedupe key committed")
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	db.Close()
	now = now.Add(8 * 24 * time.Hour) // past the default retention of 7 days
	db, err = Open(path, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(5 * time.Second)
	for db.Stats().Batches == 0 { // the janitor's prune commit
		if time.Now().After(deadline) {
			t.Fatal("no prune within 5s of Open")
		}
		time.Sleep(time.Millisecond)
	}
	if _, dup, err := db.Enqueue(context.Background(), c.ID, "telegram:1|tg:1", nil); dup || err != nil {
		t.Errorf("expired key: dup=%v err=%v; want it forgotten", dup, err)
	}
}
