package store_test

import (
	"errors"
	"testing"

	"github.com/parley-chat/parley/store"
)

func TestBroadcastLifecycle(t *testing.T) {
	db, _ := openClock(t)
	if _, err := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "promo"}); err == nil {
		t.Fatal("a broadcast with rate 0 was created")
	}
	b, err := db.CreateBroadcast(ctx, store.Broadcast{Name: "winter", Segment: "true", Flow: "promo", Rate: 60})
	if err != nil || b.State != store.BroadcastDraft || b.ID == "" {
		t.Fatalf("create = %+v, %v", b, err)
	}
	if _, err := db.SetBroadcastState(ctx, b.ID, store.BroadcastPaused); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("pausing a draft = %v, want ErrConflict", err)
	}
	b, err = db.StartBroadcast(ctx, b.ID, []string{"c1", "c2", "c3"})
	if err != nil || b.State != store.BroadcastRunning || b.Total != 3 || b.Counts[store.OutcomeQueued] != 3 {
		t.Fatalf("start = %+v, %v", b, err)
	}
	if _, err := db.StartBroadcast(ctx, b.ID, []string{"c4"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start = %v, want ErrConflict", err)
	}
	r, ok, err := db.NextRecipient(b.ID)
	if err != nil || !ok || r.ContactID != "c1" || r.Index != 0 {
		t.Fatalf("next = %+v %v %v", r, ok, err)
	}
	if ok, err := db.MarkRecipient(ctx, b.ID, 0, store.OutcomeSent, "", "t_1"); !ok || err != nil {
		t.Fatalf("mark = %v %v", ok, err)
	}
	// Marking again (a retry after a crash) changes nothing.
	if ok, err := db.MarkRecipient(ctx, b.ID, 0, store.OutcomeFailed, "x", ""); ok || err != nil {
		t.Fatalf("second mark = %v %v, want false, nil", ok, err)
	}
	if b, _ = db.SetBroadcastState(ctx, b.ID, store.BroadcastPaused); b.State != store.BroadcastPaused {
		t.Fatalf("pause: %+v", b)
	}
	if _, ok, _ := db.NextRecipient(b.ID); ok {
		t.Fatal("a paused broadcast gave a recipient")
	}
	if b, _ = db.SetBroadcastState(ctx, b.ID, store.BroadcastRunning); b.State != store.BroadcastRunning {
		t.Fatalf("resume: %+v", b)
	}
	if r, _, _ = db.NextRecipient(b.ID); r.ContactID != "c2" {
		t.Fatalf("after resume next = %+v, want c2", r)
	}
	if _, err := db.MarkRecipient(ctx, b.ID, 1, store.OutcomeOptedOut, "", ""); err != nil {
		t.Fatal(err)
	}
	b, err = db.SetBroadcastState(ctx, b.ID, store.BroadcastCancelled)
	if err != nil || b.Counts[store.OutcomeSent] != 1 || b.Counts[store.OutcomeOptedOut] != 1 ||
		b.Counts[store.OutcomeNotStarted] != 1 || b.Counts[store.OutcomeQueued] != 0 {
		t.Fatalf("cancel = %+v, %v", b, err)
	}
	rs, err := db.Recipients(b.ID, 0, 0)
	if err != nil || len(rs) != 3 || rs[0].Trigger != "t_1" || rs[2].Outcome != store.OutcomeNotStarted {
		t.Fatalf("recipients = %+v, %v", rs, err)
	}
	all, err := db.Broadcasts()
	if err != nil || len(all) != 1 || all[0].State != store.BroadcastCancelled {
		t.Fatalf("list = %+v, %v", all, err)
	}
	// The last mark of a running broadcast makes it done.
	d, _ := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "promo", Rate: 1})
	d, _ = db.StartBroadcast(ctx, d.ID, []string{"c1"})
	db.MarkRecipient(ctx, d.ID, 0, store.OutcomeSent, "", "")
	if d, _ = db.Broadcast(d.ID); d.State != store.BroadcastDone || d.FinishedAt.IsZero() {
		t.Fatalf("after the last recipient: %+v", d)
	}
	if _, err := db.Broadcast("b_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown broadcast = %v", err)
	}
}
