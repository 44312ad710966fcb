package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

func commitMsg(t *testing.T, db *store.DB, contactID, dir, addr string, at time.Time) {
	t.Helper()
	_, err := db.Commit(ctx, store.Turn{ContactID: contactID, Messages: []store.Message{{
		ContactID: contactID, Dir: dir, Address: addr, Text: dir + " " + addr, At: at}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLastInboundAddress(t *testing.T) {
	db := storetest.Open(t)
	web := mustContact(t, db, "web:v_olga")
	tg := mustContact(t, db, "telegram:42")
	at := time.Now().Add(-time.Hour)
	if got, err := db.LastInboundAddress(web.ID); err != nil || got != "" {
		t.Fatalf("no history: %q, %v; want \"\"", got, err)
	}
	commitMsg(t, db, tg.ID, store.DirIn, "telegram:42", at)
	commitMsg(t, db, web.ID, store.DirIn, "web:v_olga", at.Add(time.Minute))
	res, err := db.Merge(ctx, tg.ID, web.ID, store.MergeOptions{Reason: "link"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.LastInboundAddress(tg.ID); got != "web:v_olga" {
		t.Errorf("after the merge: %q, want the web chat she wrote from last", got)
	}
	commitMsg(t, db, tg.ID, store.DirIn, "telegram:42", at.Add(2*time.Minute))
	commitMsg(t, db, tg.ID, store.DirIn, "web:v_olga", at.Add(3*time.Minute))
	for range 5 { // replies do not move it
		commitMsg(t, db, tg.ID, store.DirOut, "telegram:42", at.Add(4*time.Minute))
	}
	if got, _ := db.LastInboundAddress(tg.ID); got != "web:v_olga" {
		t.Errorf("after replies to telegram: %q, want web:v_olga", got)
	}
	// Undone: the web chat is another contact's again, and never a reply
	// address of this one.
	if _, err := db.UndoMerge(ctx, res.Record.ID, "lead"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.LastInboundAddress(tg.ID); got != "telegram:42" {
		t.Errorf("after the undo: %q, want telegram:42", got)
	}
	if got, _ := db.LastInboundAddress(web.ID); got != "web:v_olga" {
		t.Errorf("the given-back contact: %q, want web:v_olga", got)
	}
	if _, err := db.LastInboundAddress("c_none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing contact: %v, want ErrNotFound", err)
	}
}
