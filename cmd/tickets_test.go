package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
)

// TestTicketsListJSON seeds tickets with the store and lists them as an
// operator would.
func TestTicketsListJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	db, err := store.Open(path, store.Options{Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i, tk := range []store.Ticket{
		{Address: "telegram:1", Reason: "negative", Priority: 1},
		{Address: "web:v2", Reason: "requested", Priority: 3, Status: store.TicketAssigned, AgentID: "anna"},
		{Address: "vk:3", Reason: "not_understood", Priority: 0, Status: store.TicketResolved},
	} {
		c, _, err := db.ResolveContact(ctx, tk.Address, map[int]string{1: "Olga"}[i], "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		tk.ContactID = c.ID
		tk.CreatedAt = at.Add(time.Duration(i) * time.Minute)
		if _, err := db.OpenTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(append([]string{"tickets", "list", "--db", path}, args...), IO{Stdout: &out, Stderr: &errb}); code != 0 {
			t.Fatalf("tickets list %v = %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(run("--status", "open", "--json")), &got); err != nil {
		t.Fatal(err)
	}
	// Open tickets in queue order: the urgent one first.
	want := []map[string]any{
		{"id": 2.0, "contact": ids[1], "name": "Olga", "channel": "web", "address": "web:v2", "reason": "requested", "status": "assigned",
			"priority": "urgent", "agent": "anna", "created_at": "2026-11-23T10:01:00Z"},
		{"id": 1.0, "contact": ids[0], "name": "Telegram 1", "channel": "telegram", "address": "telegram:1", "reason": "negative", "status": "queued",
			"priority": "normal", "created_at": "2026-11-23T10:00:00Z"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("open tickets (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(run("--json")), &got); err != nil || len(got) != 3 {
		t.Errorf("all tickets: %d, %v", len(got), err)
	}
	text := run("--status", "resolved")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID  STATUS") ||
		!strings.Contains(lines[1], "3   resolved  low       vk       "+ids[2]+"  not_understood  -      2026-11-23 10:02Z") {
		t.Errorf("text output:\n%s", text)
	}
}
