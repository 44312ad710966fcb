package analytics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// BenchmarkCompute measures a report over a month of a small shop's log:
// 5,000 conversations of 1,000 contacts, ≈ 60,000 events, a tenth handed
// off to a ticket, read from a real bbolt file; as the dashboard asks for
// it: with the previous period (empty here) and business hours.
func BenchmarkCompute(b *testing.B) {
	db := storetest.OpenWith(b, store.Options{NoSync: true})
	ctx := context.Background()
	contacts := make([]string, 1000)
	for i := range contacts {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("web:b%d", i), "", "")
		if err != nil {
			b.Fatal(err)
		}
		contacts[i] = c.ID
	}
	var evs []store.Event
	for i := 0; i < 5000; i++ {
		c := contacts[i%len(contacts)]
		at := day0.Add(time.Duration(i) * 8 * time.Minute) // 5,000 × 8 min ≈ 28 days; a contact writes every ~5 days
		for turn := 0; turn < 4; turn++ {
			t := at.Add(time.Duration(turn) * time.Minute)
			evs = append(evs,
				store.Event{At: t, ContactID: c, Type: "message_in", Data: map[string]string{"channel": "web", "lang": "en"}},
				store.Event{At: t, ContactID: c, Type: "node", Flow: "main", Node: fmt.Sprintf("n%d", turn)},
				store.Event{At: t, ContactID: c, Type: "message_out", Data: map[string]string{"channel": "web", "sender": "bot"}})
		}
		if i%10 == 0 {
			tk, err := db.OpenTicket(ctx, store.Ticket{ContactID: c, Address: "web:x", Reason: "requested", Status: store.TicketResolved,
				AgentID: "anna", CreatedAt: at.Add(4 * time.Minute), FirstReplyAt: at.Add(6 * time.Minute), ResolvedAt: at.Add(20 * time.Minute), CSAT: 1 + i%5})
			if err != nil {
				b.Fatal(err)
			}
			evs = append(evs, store.Event{At: at.Add(4 * time.Minute), ContactID: c, Type: "handoff_requested", Data: map[string]string{"reason": "requested"}},
				store.Event{At: at.Add(4 * time.Minute), ContactID: c, Type: "ticket.queued", Data: map[string]string{"ticket": fmt.Sprint(tk.ID)}},
				store.Event{At: at.Add(20 * time.Minute), ContactID: c, Type: "ticket.resolved", Data: map[string]string{"ticket": fmt.Sprint(tk.ID), "outcome": "bot"}})
		}
		if len(evs) > 5000 {
			if err := db.AppendEvents(ctx, evs...); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
	}
	if err := db.AppendEvents(ctx, evs...); err != nil {
		b.Fatal(err)
	}
	opts := Options{From: day0, To: day0.AddDate(0, 0, 30), Now: day0.AddDate(0, 0, 60), Compare: true, Hours: nineToSix{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := Compute(db, opts)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Conversations != 5000 || rep.HandedOff != 500 {
			b.Fatalf("conversations %d handed off %d", rep.Conversations, rep.HandedOff)
		}
	}
}

// nineToSix is business hours of 09:00–18:00 UTC every day, as the
// dashboard passes handoff's hours.
type nineToSix struct{}

func (nineToSix) OpenBetween(from, to time.Time) time.Duration {
	var open time.Duration
	for d := from.Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		a, b := max(from.UnixNano(), d.Add(9*time.Hour).UnixNano()), min(to.UnixNano(), d.Add(18*time.Hour).UnixNano())
		if a < b {
			open += time.Duration(b - a)
		}
	}
	return open
}
