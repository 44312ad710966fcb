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
	b, err = db.StartBroadcast(ctx, b.ID, []store.Recipient{{ContactID: "c1"}, {ContactID: "c2", TimeZone: "Asia/Tokyo"}, {ContactID: "c3"}})
	if err != nil || b.State != store.BroadcastRunning || b.Total != 3 || b.Counts[store.OutcomeQueued] != 3 {
		t.Fatalf("start = %+v, %v", b, err)
	}
	if _, err := db.StartBroadcast(ctx, b.ID, []store.Recipient{{ContactID: "c4"}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start = %v, want ErrConflict", err)
	}
	all := func(store.Recipient) bool { return true }
	rs, err := db.QueuedRecipients(b.ID, 2, all)
	if err != nil || len(rs) != 2 || rs[0].ContactID != "c1" || rs[1].Index != 1 || rs[1].TimeZone != "Asia/Tokyo" {
		t.Fatalf("queued = %+v %v", rs, err)
	}
	// A recipient whose window is closed is passed over, not lost.
	notTokyo := func(r store.Recipient) bool { return r.TimeZone != "Asia/Tokyo" }
	if rs, _ = db.QueuedRecipients(b.ID, 2, notTokyo); len(rs) != 2 || rs[1].ContactID != "c3" {
		t.Fatalf("queued outside Tokyo = %+v", rs)
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
	if rs, _ := db.QueuedRecipients(b.ID, 5, all); len(rs) != 0 {
		t.Fatal("a paused broadcast gave a recipient")
	}
	if b, _ = db.SetBroadcastState(ctx, b.ID, store.BroadcastRunning); b.State != store.BroadcastRunning {
		t.Fatalf("resume: %+v", b)
	}
	if _, err := db.MarkRecipient(ctx, b.ID, 2, store.OutcomeOptedOut, "", ""); err != nil {
		t.Fatal(err)
	}
	// c2 (index 1) is still queued: the cursor waits for it.
	if b, _ = db.Broadcast(b.ID); b.Next != 1 {
		t.Fatalf("cursor = %d, want 1", b.Next)
	}
	if rs, _ = db.QueuedRecipients(b.ID, 5, all); len(rs) != 1 || rs[0].ContactID != "c2" {
		t.Fatalf("after resume queued = %+v, want c2", rs)
	}
	b, err = db.SetBroadcastState(ctx, b.ID, store.BroadcastCancelled)
	if err != nil || b.Counts[store.OutcomeSent] != 1 || b.Counts[store.OutcomeOptedOut] != 1 ||
		b.Counts[store.OutcomeNotStarted] != 1 || b.Counts[store.OutcomeQueued] != 0 {
		t.Fatalf("cancel = %+v, %v", b, err)
	}
	rs, err = db.Recipients(b.ID, 0, 0)
	if err != nil || len(rs) != 3 || rs[0].Trigger != "t_1" || rs[1].Outcome != store.OutcomeNotStarted {
		t.Fatalf("recipients = %+v, %v", rs, err)
	}
	list, err := db.Broadcasts()
	if err != nil || len(list) != 1 || list[0].State != store.BroadcastCancelled {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// The last mark of a running broadcast makes it done.
	d, _ := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "promo", Rate: 1})
	d, _ = db.StartBroadcast(ctx, d.ID, []store.Recipient{{ContactID: "c1"}})
	db.MarkRecipient(ctx, d.ID, 0, store.OutcomeSent, "", "")
	if d, _ = db.Broadcast(d.ID); d.State != store.BroadcastDone || d.FinishedAt.IsZero() {
		t.Fatalf("after the last recipient: %+v", d)
	}
	if _, err := db.Broadcast("b_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown broadcast = %v", err)
	}
}
