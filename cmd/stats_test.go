package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/store"
)

// TestStatsJSON seeds a small event log and tickets (a contained
// conversation, a handoff after a bot answer, a conversation outside the
// period) and reads them back as a lead would with `parley stats --json`.
func TestStatsJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	// Long ago, so every conversation is settled whatever the clock says.
	base := time.Date(2020, 3, 2, 10, 0, 0, 0, time.UTC)
	db, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	contact := func(id string) string {
		c, _, err := db.ResolveContact(ctx, id, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	var evs []store.Event
	ev := func(at time.Time, c, typ, flow, node string, kv ...string) {
		e := store.Event{At: at, ContactID: c, Type: typ, Flow: flow, Node: node, Data: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			e.Data[kv[i]] = kv[i+1]
		}
		evs = append(evs, e)
	}
	a, b, old := contact("telegram:1"), contact("web:v2"), contact("vk:3")
	ev(base, a, "message_in", "", "", "channel", "telegram", "lang", "ru")
	ev(base, a, "node", "main", "answer")
	ev(base, a, "message_out", "", "", "channel", "telegram", "sender", "bot")

	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: b, Address: "web:v2", Reason: "negative",
		Status: store.TicketResolved, AgentID: "anna", CSAT: 4, Outcome: "csat", CreatedAt: base.Add(time.Minute),
		FirstReplyAt: base.Add(3 * time.Minute), ResolvedAt: base.Add(11 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatUint(tk.ID, 10)
	ev(base, b, "message_in", "", "", "channel", "web", "lang", "en")
	ev(base, b, "node", "main", "answer")
	ev(base, b, "message_out", "", "", "channel", "web", "sender", "bot")
	ev(base.Add(time.Minute), b, "message_in", "", "", "channel", "web", "lang", "en")
	ev(base.Add(time.Minute), b, "handoff_requested", "", "", "reason", "negative")
	ev(base.Add(time.Minute), b, "ticket.queued", "", "", "ticket", id, "reason", "negative")
	ev(base.Add(3*time.Minute), b, "message_out", "", "", "channel", "web", "sender", "agent:anna")
	ev(base.Add(11*time.Minute), b, "ticket.resolved", "", "", "ticket", id, "outcome", "csat")

	ev(base.AddDate(0, 0, -10), old, "message_in", "", "", "channel", "vk", "lang", "ru")
	if err := db.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	db.Close()

	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Run(append([]string{"stats", "--db", path}, args...), IO{Stdout: &out, Stderr: &errb})
		return out.String(), errb.String(), code
	}
	out, stderr, code := run("--json", "--from", "2020-03-01", "--to", "2020-03-02")
	if code != 0 {
		t.Fatalf("stats = %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string]any{
		"conversations":             2.0,
		"contained":                 1.0,
		"handed_off":                1.0,
		"containment_rate":          0.5,
		"handoffs_by_reason":        map[string]any{"negative": 1.0},
		"afrt_median_seconds":       120.0,
		"resolution_median_seconds": 600.0,
		"csat_average":              4.0,
		"tickets":                   1.0,
	}
	pick := map[string]any{}
	for k := range want {
		pick[k] = got[k]
	}
	if d := cmp.Diff(want, pick); d != "" {
		t.Errorf("stats --json (-want +got):\n%s", d)
	}
	for _, k := range []string{"by_day", "by_flow", "by_channel", "by_lang", "funnels", "agents"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q breakdown in %s", k, out)
		}
	}
	if days := got["by_day"].([]any); len(days) != 2 {
		t.Errorf("by_day has %d days, want 2 (both days of the period)", len(days))
	}

	// The human table says the same.
	out, stderr, code = run("--from", "2020-03-01", "--to", "2020-03-02")
	if code != 0 {
		t.Fatalf("stats = %d: %s", code, stderr)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, line := range []string{"containment rate 50.0%", "handoffs by reason negative 1", "first response median 2m0s p90 2m0s",
		"resolution median 10m0s", "CSAT 4.00 (1 ratings; 1..5: 0/0/0/1/0)", "anna 1 1 2m0s 4.00", "2020-03-02 2 1 1 0 50.0%"} {
		if !strings.Contains(flat, line) {
			t.Errorf("table lacks %q:\n%s", line, out)
		}
	}

	// The whole log: the old conversation counts too.
	out, _, _ = run("--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["conversations"] != 3.0 {
		t.Errorf("whole log: conversations = %v (%v)", got["conversations"], err)
	}
}
