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
		t.Cleanup(func() { db.Close() })
		return db
	})
}
