package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parley-chat/parley/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func currentDB(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// Each test gets a database of its own, gone after the test.
func TestDBIsPrivateAndDropped(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = pgtest.DB(t)
		if name := currentDB(t, dsn); !strings.HasPrefix(name, "parley_test_") {
			t.Errorf("connected to %q, want a parley_test_ database", name)
		}
	})
	if _, err := pgx.Connect(context.Background(), dsn); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("database still there after its test: %v", err)
	}
}

// The fallback when no server answers: a private one from the installed
// binaries (what a fresh machine without the system cluster gets).
func TestPrivateServer(t *testing.T) {
	s, err := pgtest.StartPrivate()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if name := currentDB(t, s.URL); name != "postgres" {
		t.Errorf("private server: current database %q", name)
	}
	s.Stop()
	stopped = true
	if _, err := pgx.Connect(context.Background(), s.URL); err == nil {
		t.Error("private server still answers after Stop")
	}
}

// Schemas of one binary share a database and see nothing of each other.
func TestSchemaIsPrivate(t *testing.T) {
	a, b := pgtest.Schema(t), pgtest.Schema(t)
	ctx := context.Background()
	for i, dsn := range []string{a, b} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE probe (n int)"); err != nil {
			t.Fatalf("schema %d: %v", i, err)
		}
	}
	if currentDB(t, a) != currentDB(t, b) {
		t.Error("two schemas of one binary in two databases")
	}
}
