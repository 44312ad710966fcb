package handoff

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// benchService is a service over a store with 1,000 contacts, half of them
// with a resolved ticket and 50 with an open one.
func benchService(b *testing.B) (*Service, []string) {
	db := storetest.OpenWith(b, store.Options{NoSync: true})
	svc, err := New(db, Config{}, nil, zerolog.New(io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 1000 {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", i), "", "en")
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
		if i%2 == 0 {
			st := store.TicketResolved
			if i%20 == 0 {
				st = store.TicketQueued
			}
			tk := store.Ticket{ContactID: c.ID, Address: "telegram:1", Status: st, Reason: "requested", Outcome: OutcomeBot}
			if st == store.TicketQueued {
				tk.Outcome = ""
			}
			if _, err := db.OpenTicket(ctx, tk); err != nil {
				b.Fatal(err)
			}
		}
	}
	return svc, ids
}

// BenchmarkRoute is the cost the queue adds to every inbound message.
func BenchmarkRoute(b *testing.B) {
	svc, ids := benchService(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := svc.Route(ctx, ids[i%len(ids)], "hello", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEscalate builds a ticket with its summary and queue notice (50
// tickets waiting, one agent online).
func BenchmarkEscalate(b *testing.B) {
	svc, ids := benchService(b)
	svc.presence.set("anna", PresenceOnline)
	ctx := context.Background()
	req := Request{ContactID: ids[1], Address: "telegram:1", Reason: "negative", Evidence: []string{"awful"},
		Vars: map[string]string{"order": "1234567", "city": "Kazan"}}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := svc.Escalate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseHours: any input parses or fails with an error naming it; no
// panic, and parsed hours answer Open and NextOpen.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"mon-fri 09:00-18:00", "sat,sun 10:00-14:00", "fri 22:00-02:00", "daily 00:00-24:00",
		"fri-mon 08:00-20:00", "mon 24:00-01:00", "x", "mon-fri 9:00-18:00", "sun 23:59-00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h, err := ParseHours("Europe/Moscow", strings.Split(line, "\n"), nil)
		if err != nil {
			if !strings.Contains(err.Error(), "business hours") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		if next, ok := h.NextOpen(at); ok && !h.Open(next) {
			t.Fatalf("NextOpen(%s) = %s, which is not open", at, next)
		}
	})
}
