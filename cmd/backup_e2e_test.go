package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

func TestHotBackupWhileServing(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "root", "Root", handoff.RoleAdmin)
	addAgent(t, s.db, "anna", "Anna", handoff.RoleAgent)
	base := "http://" + s.addr

	// An agent without the admin role gets no copy of everyone's conversations.
	anna := agentLogin(t, base, "anna")
	res, err := anna.c.Get(base + "/api/admin/backup")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("agent: status %d, want 403", res.StatusCode)
	}
	if res, _ := http.Get(base + "/api/admin/backup"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: status %d, want 401", res.StatusCode)
	}

	root := agentLogin(t, base, "root")
	res, err = root.c.Get(base + "/api/admin/backup")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("admin: status %d", res.StatusCode)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	f, _ := os.Create(path)
	n, err := io.Copy(f, res.Body)
	f.Close()
	if err != nil || n == 0 || (res.ContentLength > 0 && n != res.ContentLength) {
		t.Fatalf("copied %d of %d bytes: %v", n, res.ContentLength, err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("the copy is inconsistent: %v", err)
	}
	if _, err := db.AgentByName("anna"); err != nil {
		t.Errorf("the copy lacks the data: %v", err)
	}
}

func TestDashboardShowsTheServedFlows(t *testing.T) {
	s, _ := startServer(t, nil)
	addAgent(t, s.db, "lead", "Lead", handoff.RoleLead)
	lead := agentLogin(t, "http://"+s.addr, "lead")
	var graphs []struct {
		Flow  string
		Nodes []struct{ ID string }
		Edges []struct{ From, To string }
	}
	var wrapped struct {
		Flows json.RawMessage `json:"flows"`
	}
	res, err := lead.c.Get("http://" + s.addr + "/api/flows")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Flows) > 0 {
		body = wrapped.Flows
	}
	if err := json.Unmarshal(body, &graphs); err != nil {
		t.Fatalf("/api/flows: %v in %s", err, body)
	}
	names := map[string]bool{}
	for _, g := range graphs {
		names[g.Flow] = len(g.Nodes) > 0 && len(g.Edges) > 0
	}
	for _, f := range []string{"main", "order", "complaint"} {
		if !names[f] {
			t.Errorf("flow %q missing or empty in the dashboard's graphs (%s)", f, body)
		}
	}
}
