package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// Replicas starting together on an empty database: the migrations run
// once, every replica opens, and each version is recorded once.
func TestMigrateFromSeveralReplicasAtOnce(t *testing.T) {
	url := pgtest.DB(t)
	ctx := context.Background()
	const replicas = 4
	applied := make([][]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			applied[i], errs[i] = postgres.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	ran := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if len(applied[i]) > 0 {
			ran++
			if len(applied[i]) != postgres.SchemaVersion() {
				t.Errorf("replica %d applied %v, want 1..%d", i, applied[i], postgres.SchemaVersion())
			}
		}
	}
	if ran != 1 {
		t.Errorf("%d replicas applied migrations, want exactly 1", ran)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, max int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&rows, &max); err != nil {
		t.Fatal(err)
	}
	if rows != postgres.SchemaVersion() || max != postgres.SchemaVersion() {
		t.Errorf("schema_migrations has %d rows up to %d, want %d", rows, max, postgres.SchemaVersion())
	}
}

// A database migrated by a newer binary is refused, and so is an empty one
// when the caller asked not to migrate.
func TestSchemaVersionChecks(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := postgres.Open(ctx, url, postgres.Options{NoMigrate: true}); !errors.Is(err, store.ErrSchema) {
		t.Errorf("NoMigrate on an empty database: %v, want ErrSchema", err)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future.sql')",
		postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url, postgres.Options{}); !errors.Is(err, store.ErrSchema) {
		t.Errorf("open of a newer schema: %v, want ErrSchema", err)
	}
}

func TestOpenSaysWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://u:secret@127.0.0.1:1/x?connect_timeout=2", postgres.Options{})
	if err == nil {
		t.Fatal("open of a closed port succeeded")
	}
	if msg := err.Error(); !contains(msg, "is the server running") || contains(msg, "secret") {
		t.Errorf("error %q: want a hint and no password", msg)
	}
	if _, err := postgres.Open(ctx, "postgres://u:secret@host:notaport/x", postgres.Options{}); err == nil || contains(err.Error(), "secret") {
		t.Errorf("unparsable URL: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A database at schema 1 with data in it is upgraded at open, and the data
// and the new tables both work afterwards.
func TestUpgradeFromSchema1(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Schema(t)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if applied, err := postgres.MigrateTo(ctx, pool, 1); err != nil || len(applied) != 1 {
		t.Fatalf("to schema 1: %v, %v", applied, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO contacts (id, name, created_at, updated_at, rev) VALUES ('c_old', 'Old', now(), now(), 1);
		INSERT INTO identities (identity, contact_id, ord) VALUES ('telegram:1', 'c_old', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, url, postgres.Options{NoMigrate: true}); !errors.Is(err, store.ErrSchema) {
		t.Errorf("NoMigrate on schema 1: %v, want ErrSchema", err)
	}
	db, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.ContactByIdentity("telegram:1")
	if err != nil || c.Name != "Old" {
		t.Fatalf("old contact after the upgrade: %+v, %v", c, err)
	}
	other, _, err := db.ResolveContact(ctx, "vk:2", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssueLinkCode(ctx, c.ID, store.LinkKindCode, time.Hour); err != nil {
		t.Errorf("a table of schema 2 after the upgrade: %v", err)
	}
	if _, err := db.MergeContacts(ctx, c.ID, other.ID); err != nil {
		t.Errorf("merge after the upgrade: %v", err)
	}
}
