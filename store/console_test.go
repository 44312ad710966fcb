package store

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func consoleKey(cookie string) string {
	h := sha256.Sum256([]byte(cookie))
	return string(h[:])
}

// TestConsoleSessions: sessions survive reopening the file; a new password
// deletes that agent's sessions and no one else's, other agent changes keep
// them; bad records are refused on write and reported by Check.
func TestConsoleSessions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Agent{
		{ID: "olga", Name: "olga", Role: "agent", PasswordHash: []byte("h1")},
		{ID: "ivan", Name: "ivan", Role: "lead", PasswordHash: []byte("h2")},
	} {
		if err := db.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	put := func(cookie, agent string) {
		t.Helper()
		if err := db.PutConsoleSession(ctx, ConsoleSession{Key: consoleKey(cookie), AgentID: agent, CSRF: "x-" + cookie, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	put("o1", "olga")
	put("o2", "olga")
	put("i1", "ivan")
	for _, bad := range []ConsoleSession{
		{Key: "short", AgentID: "olga", Expires: exp},
		{Key: consoleKey("z"), Expires: exp},
		{Key: consoleKey("z"), AgentID: "olga"},
	} {
		if err := db.PutConsoleSession(ctx, bad); err == nil {
			t.Errorf("PutConsoleSession(%+v) accepted", bad)
		}
	}
	agentsOf := func() []string {
		t.Helper()
		all, err := db.ConsoleSessions()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range all {
			if !s.Expires.Equal(exp) || !strings.HasPrefix(s.CSRF, "x-") {
				t.Errorf("session %+v: expiry or csrf lost", s)
			}
			out = append(out, s.AgentID+":"+s.CSRF[2:])
		}
		slices.Sort(out)
		return out
	}
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := agentsOf(), []string{"ivan:i1", "olga:o1", "olga:o2"}; !slices.Equal(got, want) {
		t.Fatalf("after reopening: %q, want %q", got, want)
	}

	// A new display name keeps the sessions; a new password ends olga's.
	olga, _ := db.Agent("olga")
	olga.DisplayName = "Ольга"
	if err := db.PutAgent(ctx, olga); err != nil {
		t.Fatal(err)
	}
	if got := agentsOf(); len(got) != 3 {
		t.Fatalf("after a new display name: %q, want all three", got)
	}
	olga.PasswordHash = []byte("h3")
	if err := db.PutAgent(ctx, olga); err != nil {
		t.Fatal(err)
	}
	if got, want := agentsOf(), []string{"ivan:i1"}; !slices.Equal(got, want) {
		t.Fatalf("after olga's new password: %q, want %q", got, want)
	}
	if err := db.DeleteConsoleSessions(ctx, consoleKey("i1"), consoleKey("never")); err != nil {
		t.Fatal(err)
	}
	if got := agentsOf(); len(got) != 0 {
		t.Fatalf("after deleting: %q", got)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	db.write(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bConsoleSessions).Put([]byte(consoleKey("bad")), []byte(`{"agent_id":`))
	})
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "console session") {
		t.Fatalf("Check on a broken session record = %v", err)
	}
	put("ok", "ivan")
	if got := agentsOf(); !slices.Equal(got, []string{"ivan:ok"}) {
		t.Fatalf("with a broken record beside it: %q, want the good one", got)
	}
}

// TestPositions: a position survives reopening the file, a bad key is
// refused, and the meta bucket's other content is untouched.
func TestPositions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Position("vk.longpoll.1"); err != nil || v != "" {
		t.Fatalf("unset position = %q, %v", v, err)
	}
	if err := db.SetPosition(ctx, "vk.longpoll.1", "42"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPosition(ctx, "", "1"); err == nil {
		t.Error("an empty key was accepted")
	}
	db.Close()
	if db, err = Open(path, Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Position("vk.longpoll.1"); err != nil || v != "42" {
		t.Errorf("after reopening = %q, %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}
