package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A removed agent is gone by id and by name, its sessions with it, and
// the name can be given to a new account; others are untouched.
func TestDeleteAgent(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "p.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for _, a := range []Agent{{ID: "olga", Name: "olga", Role: "agent"}, {ID: "ivan", Name: "Ivan", Role: "lead"}} {
		if err := db.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	exp := time.Now().Add(time.Hour)
	for _, s := range []ConsoleSession{{Key: strings.Repeat("1", 32), AgentID: "olga", CSRF: "c", Expires: exp}, {Key: strings.Repeat("2", 32), AgentID: "ivan", CSRF: "c", Expires: exp}} {
		if err := db.PutConsoleSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteAgent(ctx, "olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Agent("olga"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Agent after delete: %v, want ErrNotFound", err)
	}
	if _, err := db.AgentByName("OLGA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AgentByName after delete: %v, want ErrNotFound", err)
	}
	ss, err := db.ConsoleSessions()
	if err != nil || len(ss) != 1 || ss[0].AgentID != "ivan" {
		t.Errorf("sessions after delete = %+v, %v; want ivan's only", ss, err)
	}
	if err := db.DeleteAgent(ctx, "olga"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if err := db.PutAgent(ctx, Agent{ID: "olga2", Name: "olga", Role: "agent"}); err != nil {
		t.Errorf("the name is not free again: %v", err)
	}
	if a, err := db.AgentByName("ivan"); err != nil || a.Role != "lead" {
		t.Errorf("ivan = %+v, %v", a, err)
	}
}
