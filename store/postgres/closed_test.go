package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// After Close every call fails with store.ErrClosed, as on bbolt.
func TestClosedStoreSaysSo(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Schema(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.ResolveContact(ctx, "web:x", "", "")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db.Close() // twice is fine
	_, err1 := db.Contact(c.ID)
	_, err2 := db.Commit(ctx, store.Turn{ContactID: c.ID, Events: []store.Event{{Type: "t"}}})
	_, _, err3 := db.Enqueue(ctx, c.ID, "k", nil)
	err4 := db.SetPosition(ctx, "k", "v")
	_, err5 := db.UpdateTicket(ctx, 1, func(*store.Ticket) error { return nil })
	for i, err := range []error{err1, err2, err3, err4, err5} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("call %d after Close: %v, want ErrClosed", i+1, err)
		}
	}
}
