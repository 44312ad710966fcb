package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/pgtest"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/postgres"
)

// Three stores (three pools, as three replicas would have) on one
// database: every event of a contact, delivered twice to different
// processes, is taken once; the contact's history stays dense with each
// turn's messages adjacent; a ticket claimed from two processes at once
// goes to one agent. The row lock, not anything in one process, does it.
func TestSeveralProcessesOneDatabase(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Schema(t)
	var dbs []*postgres.DB
	for range 3 {
		db, err := postgres.Open(ctx, url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	c, _, err := dbs[0].ResolveContact(ctx, "telegram:1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	const events = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, dups := 0, 0
	for i := range events {
		for d := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := dbs[(i+d)%len(dbs)]
				_, err := db.Commit(ctx, store.Turn{ContactID: c.ID, EventKey: fmt.Sprint("tg:", i),
					Messages: []store.Message{{Dir: "in", Text: fmt.Sprint(i)}, {Dir: "out", Text: fmt.Sprint("re ", i)}},
					Outbox:   []store.OutboxEntry{{Address: "telegram:1", Data: []byte(fmt.Sprint("re ", i))}}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					taken++
				case errors.Is(err, store.ErrDuplicate):
					dups++
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if taken != events || dups != events {
		t.Errorf("%d taken, %d refused as duplicates; want %d each", taken, dups, events)
	}
	h, err := dbs[1].History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2*events {
		t.Fatalf("history has %d messages, want %d", len(h), 2*events)
	}
	for i := 0; i < len(h); i += 2 {
		if h[i].Seq != uint64(i+1) || h[i+1].Seq != uint64(i+2) || h[i+1].Text != "re "+h[i].Text {
			t.Errorf("messages %d, %d: %+v, %+v", i, i+1, h[i], h[i+1])
		}
	}
	// Outbox ids follow the history: a contact's replies are in order.
	out, _ := dbs[2].PendingOutbox()
	for i := range out {
		if want := "re " + h[2*i].Text; string(out[i].Data) != want {
			t.Errorf("outbox %d = %q, want %q (the order of the history)", i, out[i].Data, want)
		}
	}
	tk, err := dbs[0].OpenTicket(ctx, store.Ticket{ContactID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, len(dbs))
	for i, db := range dbs {
		go func() {
			_, err := db.UpdateTicket(ctx, tk.ID, func(t *store.Ticket) error {
				if t.Status != store.TicketQueued {
					return store.ErrConflict
				}
				t.Status, t.AgentID = store.TicketAssigned, fmt.Sprint("a_", i)
				return nil
			})
			errs <- err
		}()
	}
	won := 0
	for range dbs {
		err := <-errs
		if err == nil {
			won++
		} else if !errors.Is(err, store.ErrConflict) {
			t.Error(err)
		}
	}
	if won != 1 {
		t.Errorf("%d processes claimed the ticket, want 1", won)
	}
}
