package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// Many conversations commit at once; some turns fail. Every successful turn
// is complete, no failed one left a trace, and the writes were grouped.
func TestGroupCommitManyWriters(t *testing.T) {
	db := storetest.Open(t)
	shared := mustContact(t, db, "web:shared")
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: shared.ID})
	if err != nil {
		t.Fatal(err)
	}
	const writers, turns = 32, 30
	rejected := errors.New("rejected by fn")
	var mu sync.Mutex
	okShared := 0
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			own, _, err := db.ResolveContact(ctx, fmt.Sprintf("web:w%d", w), "", "")
			if err != nil {
				t.Error(err)
				return
			}
			for i := range turns {
				turn := turnFor(own.ID, 0, fmt.Sprintf("w%d-%d", w, i))
				fail := i%7 == 3
				if fail {
					// Fails inside the shared transaction, after its writes.
					turn.UpdateTicket = &store.TicketChange{ID: tk.ID, Fn: func(*store.Ticket) error { return rejected }}
				}
				_, err := db.Commit(ctx, turn)
				if fail != errors.Is(err, rejected) || (!fail && err != nil) {
					t.Errorf("writer %d turn %d (fail=%v): %v", w, i, fail, err)
				}
				// Interleave writes to one contact from every goroutine.
				res, err := db.Commit(ctx, store.Turn{ContactID: shared.ID, Messages: []store.Message{{Dir: "in", Text: "s"}}})
				if err != nil || len(res.MessageSeqs) != 1 {
					t.Errorf("shared turn: %+v, %v", res, err)
				}
				mu.Lock()
				okShared++
				mu.Unlock()
			}
			hist, err := db.History(own.ID, 0, 0)
			if err != nil {
				t.Error(err)
				return
			}
			var want []string
			for i := range turns {
				if i%7 != 3 {
					want = append(want, fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("re: w%d-%d", w, i))
				}
			}
			if len(hist) != len(want) {
				t.Errorf("writer %d: %d messages, want %d", w, len(hist), len(want))
				return
			}
			for j, m := range hist {
				if m.Text != want[j] || m.Seq != uint64(j+1) {
					t.Errorf("writer %d message %d: seq %d %q, want seq %d %q", w, j, m.Seq, m.Text, j+1, want[j])
				}
			}
		})
	}
	wg.Wait()
	hist, err := db.History(shared.ID, 0, 0)
	if err != nil || len(hist) != okShared || hist[len(hist)-1].Seq != uint64(okShared) {
		t.Errorf("shared contact: %d messages (%v), want %d with dense seqs", len(hist), err, okShared)
	}
	if got, want := db.OutboxDepth(), writers*(turns-turns/7); got != want {
		t.Errorf("OutboxDepth = %d, want %d", got, want)
	}
	st := db.Stats()
	if st.Batches >= st.Writes {
		t.Errorf("no grouping: %d batches for %d writes", st.Batches, st.Writes)
	}
	t.Logf("%d writes in %d batches", st.Writes, st.Batches)
}

// Close commits what is queued and then refuses new writes.
func TestCloseFlushesQueuedWrites(t *testing.T) {
	path := t.TempDir() + "/parley.db"
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, db, "web:1")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			_, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: "in", Text: fmt.Sprint(i)}}})
			errs <- err
		})
	}
	go db.Close()
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrClosed):
			t.Errorf("write racing Close: %v", err)
		}
	}
	db.Close()
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if h, _ := db.History(c.ID, 0, 0); len(h) != ok {
		t.Errorf("%d writes acknowledged, %d stored", ok, len(h))
	}
}

// A write whose context ends while it waits in the queue is never applied;
// a panicking function fails alone and the writer keeps going.
func TestWriterCancelAndPanic(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "web:1")
	tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the writer inside a transaction until released.
	entered, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := db.UpdateTicket(ctx, tk.ID, func(t *store.Ticket) error {
			select {
			case <-entered:
			default:
				close(entered)
			}
			<-release
			t.Summary = "held"
			return nil
		})
		held <- err
	}()
	<-entered
	cctx, cancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() {
		_, _, err := db.ResolveContact(cctx, "web:cancelled", "", "")
		queued <- err
	}()
	// Usually reaches the queue first; either way it must not be applied.
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("queued write after cancel: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContactByIdentity("web:cancelled"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled write was applied: %v", err)
	}

	_, err = db.UpdateTicket(ctx, tk.ID, func(*store.Ticket) error { panic("bug in a handler") })
	if err == nil || !strings.Contains(err.Error(), "panic in write: bug in a handler") {
		t.Errorf("panicking fn: %v", err)
	}
	if got, _ := db.Ticket(tk.ID); got.Summary != "held" {
		t.Errorf("ticket after the panic = %+v", got)
	}
	if _, _, err := db.ResolveContact(ctx, "web:after", "", ""); err != nil {
		t.Errorf("writer dead after a panic: %v", err)
	}
}
