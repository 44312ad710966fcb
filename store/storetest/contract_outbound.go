package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// The outbound API's triggers (ported from the bbolt store's
// outbound_test.go).

// A trigger with an idempotency key is recorded once; the second call
// (also a concurrent one) gets the first one's record and writes nothing.
func contractTriggerIdempotent(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:1")
	if _, ok, err := db.Idempotency("k|order-17"); ok || err != nil {
		t.Fatalf("Idempotency of an unknown key = %v, %v", ok, err)
	}
	idem := &store.Idempotent{Key: "k|order-17", BodyHash: "h1", Result: []byte(`{"id":"t_1"}`)}
	seq, prior, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"kind":"trigger"}`), Idem: idem,
		CascadeID: "cas_1", Cascade: []byte(`{"step":0}`)})
	if err != nil || prior != nil || seq == 0 {
		t.Fatalf("first EnqueueTrigger = %d, %+v, %v", seq, prior, err)
	}
	if got, err := db.Cascade("cas_1"); err != nil || string(got) != `{"step":0}` {
		t.Errorf("the trigger's cascade: %q, %v", got, err)
	}
	clk.Advance(time.Minute)
	_, prior, err = db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"kind":"trigger"}`),
		Idem: &store.Idempotent{Key: "k|order-17", BodyHash: "h2"}, CascadeID: "cas_2", Cascade: []byte(`{}`)})
	if err != nil || prior == nil {
		t.Fatalf("second EnqueueTrigger = %+v, %v; want the first record", prior, err)
	}
	same(t, "prior record", store.Idempotent{Key: "k|order-17", BodyHash: "h1", Result: []byte(`{"id":"t_1"}`), At: ct0}, *prior)
	if _, err := db.Cascade("cas_2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a repeated trigger stored its cascade: %v", err)
	}
	// Concurrent retries of one key record one trigger.
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, prior, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{}`), Idem: &store.Idempotent{Key: "k|race"}})
			if err != nil {
				t.Error(err)
				return
			}
			if prior == nil {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d concurrent calls with one key recorded a trigger, want 1", firsts)
	}
	pending, _ := db.PendingInbox()
	if len(pending) != 2 || pending[0].Seq != seq || string(pending[0].Data) != `{"kind":"trigger"}` || pending[0].ContactID != c.ID {
		t.Fatalf("inbox = %+v; want the two triggers", pending)
	}
	rec, ok, err := db.Idempotency("k|order-17")
	if !ok || err != nil {
		t.Fatalf("Idempotency = %+v, %v, %v", rec, ok, err)
	}
	same(t, "idempotency record", *prior, rec)
	if _, _, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: "c_nobody", Data: []byte(`{}`)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("trigger for a missing contact = %v, want ErrNotFound", err)
	}
	if _, _, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Idem: &store.Idempotent{}}); err == nil {
		t.Error("an empty idempotency key was accepted")
	}
	if _, _, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: make([]byte, store.MaxValue+1)}); err == nil {
		t.Error("oversized trigger data was accepted")
	}
	// Only keys recorded before the cutoff go.
	if n, err := db.PruneIdempotency(cctx, ct0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("PruneIdempotency = %d, %v; want the first key", n, err)
	}
	if _, ok, _ := db.Idempotency("k|race"); !ok {
		t.Error("a newer key was pruned")
	}
}

// A parked trigger waits and moves to the inbox in one write; one taken
// from the inbox can be parked again.
func contractParkAndRelease(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	c := contact(t, db, "telegram:1")
	seq, _, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"n":1}`), Park: true})
	if err != nil {
		t.Fatal(err)
	}
	seq2, _, err := db.EnqueueTrigger(cctx, store.TriggerEntry{ContactID: c.ID, Data: []byte(`{"n":2}`), Park: true})
	if err != nil || seq2 <= seq {
		t.Fatalf("second parked trigger: %d after %d, %v", seq2, seq, err)
	}
	if pending, _ := db.PendingInbox(); len(pending) != 0 {
		t.Fatalf("a parked trigger reached the inbox: %+v", pending)
	}
	w, err := db.WaitingTriggers()
	same(t, "waiting triggers", []store.WaitingTrigger{{ContactID: c.ID, Seq: seq, Data: []byte(`{"n":1}`)},
		{ContactID: c.ID, Seq: seq2, Data: []byte(`{"n":2}`)}}, w)
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.ReleaseTrigger(cctx, c.ID, seq)
	if err != nil || string(in.Data) != `{"n":1}` || in.ContactID != c.ID || !in.At.Equal(ct0) {
		t.Fatalf("ReleaseTrigger = %+v, %v", in, err)
	}
	if _, err := db.ReleaseTrigger(cctx, c.ID, seq); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second release = %v, want ErrNotFound", err)
	}
	pending, _ := db.PendingInbox()
	if len(pending) != 1 || pending[0].Seq != in.Seq || string(pending[0].Data) != `{"n":1}` {
		t.Fatalf("inbox after release = %+v", pending)
	}
	if err := db.ParkTrigger(cctx, in.Seq, c.ID, in.Data); err != nil {
		t.Fatal(err)
	}
	if err := db.ParkTrigger(cctx, in.Seq, c.ID, in.Data); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("parking a trigger no longer in the inbox: %v, want ErrNotFound", err)
	}
	if pending, _ := db.PendingInbox(); len(pending) != 0 {
		t.Fatalf("inbox after park = %+v", pending)
	}
	// Parked again, it comes after the one still waiting.
	if w, _ := db.WaitingTriggers(); len(w) != 2 || string(w[0].Data) != `{"n":2}` || string(w[1].Data) != `{"n":1}` {
		t.Fatalf("waiting after park = %+v", w)
	}
}

// A merge gives the survivor the absorbed contact's parked triggers (after
// its own); forgetting the contact erases them.
func contractTriggersMergeForget(t *testing.T, open Opener) {
	db, _ := openAt(t, open)
	a := contact(t, db, "telegram:1")
	b := contact(t, db, "vk:2")
	for _, e := range []store.TriggerEntry{{ContactID: b.ID, Data: []byte(`{"p":"b1"}`), Park: true},
		{ContactID: a.ID, Data: []byte(`{"p":"a1"}`), Park: true}, {ContactID: b.ID, Data: []byte(`{"p":"b2"}`), Park: true}} {
		if _, _, err := db.EnqueueTrigger(cctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.MergeContacts(cctx, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	w, _ := db.WaitingTriggers()
	var got []string
	for _, x := range w {
		if x.ContactID != a.ID {
			t.Errorf("parked trigger of %s after the merge, want %s", x.ContactID, a.ID)
		}
		got = append(got, string(x.Data))
	}
	same(t, "parked triggers after the merge", []string{`{"p":"a1"}`, `{"p":"b1"}`, `{"p":"b2"}`}, got)
	if _, err := db.ForgetContact(cctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if w, _ := db.WaitingTriggers(); len(w) != 0 {
		t.Fatalf("parked triggers survived the erasure: %+v", w)
	}
}
