package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// A pipelined turn refused by one of its checks leaves its connection
// usable: with a pool of one connection, every call after each refusal
// still works, and nothing of a refused turn is stored.
func TestRefusedPipelinedTurnFreesItsConnection(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Schema(t), postgres.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, _, err := db.ResolveContact(ctx, "web:one", "", "")
	if err != nil {
		t.Fatal(err)
	}
	turn := store.Turn{ContactID: c.ID, EventKey: "e1", Session: []byte("s"),
		Messages: []store.Message{{Dir: "in", Text: "x"}}, Events: []store.Event{{Type: "t"}},
		Outbox: []store.OutboxEntry{{Address: "web:one", Data: []byte("r")}}}
	if _, err := db.Commit(ctx, turn); err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		turn store.Turn
		want error
	}{
		{"duplicate key", turn, store.ErrDuplicate},
		{"missing contact", store.Turn{ContactID: "c_none", Events: []store.Event{{Type: "t"}}}, store.ErrNotFound},
		{"missing inbox entry", store.Turn{ContactID: c.ID, InboxSeq: 42, Events: []store.Event{{Type: "t"}}}, store.ErrNotFound},
	}
	for _, r := range refused {
		if _, err := db.Commit(ctx, r.turn); !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, err, r.want)
		}
		if _, err := db.Contact(c.ID); err != nil {
			t.Fatalf("after %s the connection is unusable: %v", r.name, err)
		}
	}
	n := 0
	if err := db.Events(store.Event{}.At, store.Event{}.At, func(store.Event) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("%d events stored, %v; want only the first turn's", n, err)
	}
	if h, _ := db.History(c.ID, 0, 0); len(h) != 1 {
		t.Errorf("history %+v; want one message", h)
	}
	if o, _ := db.PendingOutbox(); len(o) != 1 {
		t.Errorf("outbox %+v; want one entry", o)
	}
}
