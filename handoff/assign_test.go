package handoff

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Auto-assignment: highest priority first, then oldest; round-robin over
// online agents; nobody above capacity; away agents get nothing.
func TestAutoAssignRoundRobinCapacityPriority(t *testing.T) {
	e := newEnv(t, Config{AutoAssign: true, Capacity: 2})
	ctx := context.Background()
	anna, bob, carl := e.agent("anna", RoleAgent), e.agent("bob", RoleAgent), e.agent("carl", RoleAgent)
	e.svc.presence.set(carl.ID, PresenceAway)

	// Nobody online: everything waits, in arrival order with priorities.
	prios := []string{"normal", "low", "urgent", "normal", "high", "normal"}
	ids := map[string]uint64{}
	for i, p := range prios {
		c := e.contact(fmt.Sprintf("web:c%d", i), "", "en")
		tk, _ := e.escalate(c, "requested", p)
		ids[fmt.Sprintf("%s%d", p, i)] = tk.ID
		e.clock.Advance(time.Minute)
	}
	if q, _, online := e.svc.QueueStats(); q != 6 || online != 0 {
		t.Fatalf("QueueStats = %d queued, %d online; want 6, 0", q, online)
	}

	// Anna and bob come online (presence call triggers assignment).
	e.online(anna, bob)
	e.svc.autoAssign(ctx)
	got := map[uint64]string{}
	for _, id := range ids {
		got[id] = e.ticket(id).AgentID
	}
	want := map[uint64]string{
		ids["urgent2"]: "anna", // round-robin starts at the first agent
		ids["high4"]:   "bob",
		ids["normal0"]: "anna",
		ids["normal3"]: "bob",
		ids["normal5"]: "", // both at capacity 2
		ids["low1"]:    "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assignment (-want +got):\n%s", diff)
	}

	// Anna resolves one: the oldest normal ticket goes to her, the low one waits.
	if _, err := e.svc.Resolve(ctx, anna, ids["urgent2"], OutcomeEnd); err != nil {
		t.Fatal(err)
	}
	if a := e.ticket(ids["normal5"]).AgentID; a != "anna" {
		t.Errorf("after a resolve normal5 went to %q, want anna", a)
	}
	if a := e.ticket(ids["low1"]).AgentID; a != "" {
		t.Errorf("low1 went to %q, want the queue", a)
	}
	// Carl comes back: he gets the last one.
	e.online(carl)
	e.svc.autoAssign(ctx)
	if a := e.ticket(ids["low1"]).AgentID; a != "carl" {
		t.Errorf("low1 went to %q, want carl", a)
	}
	if q, _, online := e.svc.QueueStats(); q != 0 || online != 3 {
		t.Errorf("QueueStats = %d queued, %d online; want 0, 3", q, online)
	}
}

// A new ticket is assigned on Opened when someone has room; without
// AutoAssign it waits for a claim.
func TestAutoAssignOnOpen(t *testing.T) {
	for _, auto := range []bool{true, false} {
		t.Run(fmt.Sprint("auto=", auto), func(t *testing.T) {
			e := newEnv(t, Config{AutoAssign: auto})
			anna := e.agent("anna", RoleAgent)
			e.online(anna)
			c := e.contact("telegram:3", "", "en")
			tk, _ := e.escalate(c, "requested", "")
			got := e.ticket(tk.ID)
			if auto && got.AgentID != "anna" || !auto && got.Status != StatusQueued {
				t.Errorf("ticket = %s/%q", got.Status, got.AgentID)
			}
		})
	}
}

func TestPresenceExpires(t *testing.T) {
	e := newEnv(t, Config{PresenceTTL: time.Minute})
	anna := e.agent("anna", RoleAgent)
	e.online(anna)
	if !e.svc.presence.isOnline(anna.ID) {
		t.Fatal("anna not online")
	}
	e.clock.Advance(2 * time.Minute)
	if s := e.svc.presence.status(anna.ID); s != PresenceOffline {
		t.Errorf("after the TTL without a sign of life: %q, want offline", s)
	}
	e.svc.presence.stream(anna.ID, +1) // an open console stream keeps her present
	e.clock.Advance(10 * time.Minute)
	if !e.svc.presence.isOnline(anna.ID) {
		t.Error("offline while her console stream is open")
	}
}
