package store_test

import (
	"errors"
	"testing"

	"github.com/parley-chat/parley/store"
)

func TestSavedReplies(t *testing.T) {
	db, _ := openClock(t)
	if rs, err := db.SavedReplies(); err != nil || len(rs) != 0 {
		t.Fatalf("a new database has saved replies %v, %v", rs, err)
	}
	created, err := db.PutSavedReply(ctx, store.SavedReply{ID: "late", Title: "Опоздание", Text: "Курьер задерживается, {{ contact.name }}.", Lang: "ru", UpdatedBy: "lena"})
	if err != nil || !created {
		t.Fatalf("put: created %v, %v", created, err)
	}
	created, err = db.PutSavedReply(ctx, store.SavedReply{ID: "late", Title: "Опоздание", Text: "Курьер будет завтра.", UpdatedBy: "boss"})
	if err != nil || created {
		t.Fatalf("replace: created %v, %v", created, err)
	}
	if _, err := db.PutSavedReply(ctx, store.SavedReply{ID: "empty"}); err == nil {
		t.Error("a reply without text was stored")
	}
	// A position of the same bucket is not a reply.
	if err := db.SetPosition(ctx, "vk", "42"); err != nil {
		t.Fatal(err)
	}
	rs, err := db.SavedReplies()
	if err != nil || len(rs) != 1 || rs[0].Text != "Курьер будет завтра." || rs[0].UpdatedBy != "boss" || rs[0].UpdatedAt.IsZero() {
		t.Fatalf("replies = %+v, %v", rs, err)
	}
	if err := db.DeleteSavedReply(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSavedReply(ctx, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if rs, _ := db.SavedReplies(); len(rs) != 0 {
		t.Errorf("after delete: %+v", rs)
	}
}
