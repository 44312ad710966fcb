package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
)

// `parley stats` and the lead dashboard are one computation: on the same
// database and period, --json is /api/stats without the live queue, and
// --csv TABLE is /api/stats.csv?table=TABLE, open conversations and the
// previous period included.
func TestStatsAgreesWithDashboard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	from := now.Add(-30 * time.Hour).Format(time.DateOnly)
	to := now.Format(time.DateOnly)
	var evs []store.Event
	ev := func(at time.Time, c, typ, flow, node string, kv ...string) {
		e := store.Event{At: at, ContactID: c, Type: typ, Flow: flow, Node: node, Data: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Data[kv[i]] = kv[i+1]
		}
		evs = append(evs, e)
	}
	contact := func(id string) string {
		c, _, err := db.ResolveContact(ctx, id, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	turn := func(at time.Time, c, ch string, nodes ...string) {
		ev(at, c, "message_in", "", "", "channel", ch, "lang", "en")
		for _, n := range nodes {
			f, id, _ := strings.Cut(n, ".")
			ev(at, c, "node", f, id)
		}
		ev(at, c, "message_out", "", "", "channel", ch, "sender", "bot")
	}
	settled, open, handed := contact("web:a"), contact("telegram:b"), contact("web:c")
	turn(now.Add(-27*time.Hour), settled, "web", "main.hello", "main.menu")
	turn(now.Add(-2*time.Hour), open, "telegram", "main.hello", "main.menu")
	turn(now.Add(-3*time.Hour), handed, "web", "main.hello", "main.to_human")
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: handed, Address: "web:c", Reason: "requested", Status: store.TicketResolved,
		AgentID: "anna", CSAT: 5, Outcome: "csat", CreatedAt: now.Add(-3 * time.Hour), AssignedAt: now.Add(-3*time.Hour + time.Minute),
		FirstReplyAt: now.Add(-3*time.Hour + 2*time.Minute), ResolvedAt: now.Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(tk.ID, 10)
	ev(now.Add(-3*time.Hour), handed, "handoff_requested", "", "", "reason", "requested")
	ev(now.Add(-3*time.Hour), handed, "ticket.queued", "", "", "ticket", id, "reason", "requested")
	ev(now.Add(-2*time.Hour), handed, "ticket.resolved", "", "", "ticket", id, "outcome", "csat")
	if err := db.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}

	// The dashboard, on the same database.
	svc, err := handoff.New(db, handoff.Config{BcryptCost: bcrypt.MinCost}, nil, zerolog.New(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handoff.AddAgent(ctx, db, handoff.NewAgent{Name: "lena", Role: handoff.RoleLead, Password: "correct horse battery"},
		bcrypt.MinCost, now); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler())
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(p string) []byte {
		t.Helper()
		res, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", p, res.StatusCode, b)
		}
		return b
	}
	res, err := client.Post(srv.URL+"/api/login", "application/json", strings.NewReader(`{"name":"lena","password":"correct horse battery"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", res, err)
	}
	res.Body.Close()
	query := "?from=" + from + "&to=" + to
	dashJSON := get("/api/stats" + query)
	dashCSV := map[string]string{}
	for _, table := range []string{"headline", "by_day", "by_reason", "agents"} {
		dashCSV[table] = string(get("/api/stats.csv" + query + "&table=" + table))
	}
	srv.Close()
	svc.Close()
	db.Close()

	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(append([]string{"stats", "--db", path, "--from", from, "--to", to}, args...), IO{Stdout: &out, Stderr: &errb}); code != 0 {
			t.Fatalf("stats %v = %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	var dash, cli map[string]any
	if err := json.Unmarshal(dashJSON, &dash); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(run("--json")), &cli); err != nil {
		t.Fatal(err)
	}
	for _, m := range []map[string]any{dash, cli} {
		delete(m, "live") // the dashboard's queue right now
		delete(m, "now")  // the moment each one computed
	}
	if d := cmp.Diff(dash, cli); d != "" {
		t.Errorf("parley stats --json differs from /api/stats (-dashboard +stats):\n%s", d)
	}
	if dash["open"] != 1.0 || dash["handed_off"] != 1.0 || dash["previous"] == nil {
		t.Errorf("the shared report lacks what it should show: open %v, handed off %v, previous %v", dash["open"], dash["handed_off"], dash["previous"])
	}
	for table, want := range dashCSV {
		if got := run("--csv", table); got != want {
			t.Errorf("--csv %s differs from the dashboard's download:\n%s\nvs\n%s", table, got, want)
		}
	}
}
