package postgres_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store/postgres"
	"github.com/parley-chat/parley/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens a PostgreSQL store on a database of the test's own.
func open(t testing.TB, opts postgres.Options) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.DB(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestContract runs the store contract shared with the bbolt store.
func TestContract(t *testing.T) {
	storetest.Contract(t, func(t *testing.T, cfg storetest.Config) storetest.Backend {
		db, err := postgres.Open(context.Background(), pgtest.Schema(t)+"&synchronous_commit=off",
			postgres.Options{Clock: cfg.Clock, DedupeRetention: cfg.DedupeRetention})
		if err != nil {
			t.Fatal(err)
		}
		// Every contract test ends with the invariants checked, as the bbolt
		// store's do (storetest.OpenWith).
		t.Cleanup(func() {
			if err := db.Check(); err != nil {
				t.Error(err)
			}
			db.Close()
		})
		return db
	})
}
