// Package storetest opens throwaway stores for tests: a real bbolt file in
// t.TempDir() that is closed, reopened and consistency-checked (store.Check)
// when the test ends, so every test that writes also proves the invariants.
package storetest

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// Open opens a fresh store with default options (fsync on).
func Open(t testing.TB) *store.DB {
	t.Helper()
	return OpenWith(t, store.Options{})
}

// OpenWith opens a fresh store with opts. On cleanup the DB is closed (a
// test may close it earlier), reopened read-write and checked; a problem
// fails the test.
func OpenWith(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
		CheckFile(t, path)
	})
	return db
}

// CheckFile opens the store file at path and fails the test if Check
// reports a problem.
func CheckFile(t testing.TB, path string) {
	t.Helper()
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Errorf("storetest: reopen for check: %v", err)
		return
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("storetest: %v", err)
	}
}

// Clock is a settable clock for store.Options.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
