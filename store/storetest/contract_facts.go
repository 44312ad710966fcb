package storetest

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// ContactFacts: message counts and times, conversations split by
// store.ConversationGap, tickets with their CSAT, consent.
func contractContactFacts(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "telegram:1")
	f, err := db.ContactFacts(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "facts of a new contact", store.ContactFacts{FirstSeen: ct0, Consent: []store.Consent{}}, f)
	say := func(dir string, after time.Duration) {
		t.Helper()
		clk.Advance(after)
		if _, err := db.Commit(cctx, store.Turn{ContactID: c.ID, Messages: []store.Message{{Dir: dir, Address: "telegram:1", Text: "x"}}}); err != nil {
			t.Fatal(err)
		}
	}
	say(store.DirIn, time.Minute)
	say(store.DirOut, time.Second)
	say(store.DirIn, 2*time.Hour) // a second conversation
	say(store.DirOut, 10*time.Minute)
	say(store.DirOut, store.ConversationGap) // exactly the gap: the same one
	lastIn := ct0.Add(time.Minute + time.Second + 2*time.Hour)
	last := clk.Now()
	for i, csat := range []int{4, 0, 1} {
		tk, err := db.OpenTicket(cctx, store.Ticket{ContactID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if _, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error { t.CSAT = csat; return nil }); err != nil {
				t.Fatal(err)
			}
			break // left open
		}
		if _, err := db.UpdateTicket(cctx, tk.ID, func(t *store.Ticket) error {
			t.Status, t.ResolvedAt, t.Outcome, t.CSAT = store.TicketResolved, clk.Now(), "end", csat
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SetConsent(cctx, c.ID, "telegram", true, "message"); err != nil {
		t.Fatal(err)
	}
	other := contact(t, db, "vk:2")
	if _, err := db.OpenTicket(cctx, store.Ticket{ContactID: other.ID}); err != nil {
		t.Fatal(err)
	}
	f, err = db.ContactFacts(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "facts", store.ContactFacts{FirstSeen: ct0, LastMessageAt: last, LastInboundAt: lastIn, MessagesIn: 2, MessagesOut: 3,
		Conversations: 2, Tickets: 3, OpenTicket: true, CSATAvg: 2.5, CSATCount: 2,
		Consent: []store.Consent{{Channel: "telegram", OptedOut: true, At: last, Source: "message"}}}, f)
	if _, err := db.ContactFacts("c_nobody"); err == nil {
		t.Error("facts of a missing contact")
	}
}
