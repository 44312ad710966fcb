package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// A trigger with an idempotency key is recorded once; the second call gets
// the first one's record and writes nothing.
func TestEnqueueTriggerIdempotent(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "telegram:1")
	idem := &store.Idempotent{Key: "k|order-17", BodyHash: "h1", Result: []byte(`{"id":"t_1"}`)}
	seq, prior, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"kind":"trigger"}`), Idem: idem})
	if err != nil || prior != nil || seq == 0 {
		t.Fatalf("first EnqueueTrigger = %d, %+v, %v", seq, prior, err)
	}
	_, prior, err = db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"kind":"trigger"}`),
		Idem: &store.Idempotent{Key: "k|order-17", BodyHash: "h2"}})
	if err != nil || prior == nil || prior.BodyHash != "h1" || string(prior.Result) != `{"id":"t_1"}` {
		t.Fatalf("second EnqueueTrigger = %+v, %v; want the first record", prior, err)
	}
	pending, _ := db.PendingInbox()
	if len(pending) != 1 || pending[0].Seq != seq {
		t.Fatalf("inbox = %+v; want the one trigger", pending)
	}
	if rec, ok, err := db.Idempotency("k|order-17"); !ok || err != nil || rec.BodyHash != "h1" {
		t.Fatalf("Idempotency = %+v, %v, %v", rec, ok, err)
	}
	if _, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: "c_nobody", Data: []byte(`{}`)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("trigger for a missing contact = %v, want ErrNotFound", err)
	}
	if n, err := db.PruneIdempotency(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneIdempotency = %d, %v", n, err)
	}
}

// A parked trigger waits in trigger_wait and moves to the inbox in one
// write; one taken from the inbox can be parked again.
func TestParkAndReleaseTrigger(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "telegram:1")
	seq, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"n":1}`), Park: true})
	if err != nil {
		t.Fatal(err)
	}
	if pending, _ := db.PendingInbox(); len(pending) != 0 {
		t.Fatalf("a parked trigger reached the inbox: %+v", pending)
	}
	w, err := db.WaitingTriggers()
	if err != nil || len(w) != 1 || w[0].ContactID != c.ID || w[0].Seq != seq || string(w[0].Data) != `{"n":1}` {
		t.Fatalf("WaitingTriggers = %+v, %v", w, err)
	}
	in, err := db.ReleaseTrigger(ctx, c.ID, seq)
	if err != nil || string(in.Data) != `{"n":1}` {
		t.Fatalf("ReleaseTrigger = %+v, %v", in, err)
	}
	if _, err := db.ReleaseTrigger(ctx, c.ID, seq); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second release = %v, want ErrNotFound", err)
	}
	pending, _ := db.PendingInbox()
	if len(pending) != 1 || pending[0].Seq != in.Seq || string(pending[0].Data) != `{"n":1}` {
		t.Fatalf("inbox after release = %+v", pending)
	}
	if err := db.ParkTrigger(ctx, in.Seq, c.ID, in.Data); err != nil {
		t.Fatal(err)
	}
	if pending, _ := db.PendingInbox(); len(pending) != 0 {
		t.Fatalf("inbox after park = %+v", pending)
	}
	if w, _ := db.WaitingTriggers(); len(w) != 1 {
		t.Fatalf("waiting after park = %+v", w)
	}
}

func TestConsent(t *testing.T) {
	db, _ := openClock(t)
	c := mustContact(t, db, "telegram:1")
	if out, err := db.OptedOut(c.ID, "telegram"); out || err != nil {
		t.Fatalf("OptedOut of a fresh contact = %v, %v", out, err)
	}
	if changed, err := db.SetConsent(ctx, c.ID, "telegram", true, "message"); !changed || err != nil {
		t.Fatalf("SetConsent = %v, %v", changed, err)
	}
	if changed, _ := db.SetConsent(ctx, c.ID, "telegram", true, "message"); changed {
		t.Fatal("a second opt-out counted as a change")
	}
	if out, _ := db.OptedOut(c.ID, "telegram"); !out {
		t.Fatal("opt-out not recorded")
	}
	if out, _ := db.OptedOut(c.ID, "sms"); out {
		t.Fatal("opt-out leaked to another channel")
	}
	list, err := db.Consents(c.ID)
	if err != nil || len(list) != 1 || list[0].Channel != "telegram" || !list[0].OptedOut || list[0].Source != "message" {
		t.Fatalf("Consents = %+v, %v", list, err)
	}
	if changed, _ := db.SetConsent(ctx, c.ID, "telegram", false, "api"); !changed {
		t.Fatal("opt-in not a change")
	}
	if out, _ := db.OptedOut(c.ID, "telegram"); out {
		t.Fatal("opt-in not recorded")
	}
	if _, err := db.SetConsent(ctx, "c_nobody", "telegram", true, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consent of a missing contact = %v", err)
	}
}

// A merge gives the merged contact the other's opt-out and parked
// triggers; forgetting a contact erases both.
func TestOutboundStateFollowsMergeAndForget(t *testing.T) {
	db, _ := openClock(t)
	a := mustContact(t, db, "telegram:1")
	b := mustContact(t, db, "vk:2")
	if _, err := db.SetConsent(ctx, b.ID, "vk", true, "message"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.EnqueueTrigger(ctx, store.TriggerEntry{ContactID: b.ID, Data: []byte(`{"p":"secret"}`), Park: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MergeContacts(ctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if out, _ := db.OptedOut(a.ID, "vk"); !out {
		t.Fatal("the merged contact lost the opt-out")
	}
	w, _ := db.WaitingTriggers()
	if len(w) != 1 || w[0].ContactID != a.ID {
		t.Fatalf("parked triggers after merge = %+v", w)
	}
	if _, err := db.ForgetContact(ctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if w, _ := db.WaitingTriggers(); len(w) != 0 {
		t.Fatalf("parked triggers survived the erasure: %+v", w)
	}
	for _, id := range []string{a.ID, b.ID} {
		if list, _ := db.Consents(id); len(list) != 0 {
			t.Fatalf("consent of %s survived the erasure: %+v", id, list)
		}
	}
}
