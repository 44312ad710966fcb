package handoff

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
)

func TestLifecycle(t *testing.T) {
	e := newEnv(t, Config{CSAT: true})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	e.online(anna)
	c := e.contact("telegram:42", "Ivan", "en")
	e.say(c, "where is my order 1234567?")
	e.botSays(c, "It is on its way.")
	e.say(c, "this is awful, third week!")

	tk, notices := e.escalate(c, "negative", "high", "this is awful, third week!")
	if tk.Status != StatusQueued || tk.Priority != 2 || tk.Reason != "negative" {
		t.Fatalf("opened ticket = %+v", tk)
	}
	if !strings.Contains(notices[0].Text, "number 1 in the queue") {
		t.Errorf("queued notice = %q", notices[0].Text)
	}
	for _, want := range []string{"Reason: Unhappy (this is awful, third week!)", "order=1234567",
		"Customer: where is my order", "Bot: It is on its way."} {
		if !strings.Contains(tk.Summary, want) {
			t.Errorf("summary %q lacks %q", tk.Summary, want)
		}
	}

	e.clock.Advance(2 * time.Minute)
	tk, err := e.svc.Claim(ctx, anna, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Status != StatusAssigned || tk.AgentID != "anna" || !tk.AssignedAt.Equal(e.clock.Now()) {
		t.Fatalf("claimed ticket = %+v", tk)
	}

	e.clock.Advance(time.Minute)
	if _, err := e.svc.Note(ctx, anna, tk.ID, "customer is a regular, offer a coupon"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, anna, tk.ID, "Hello Ivan, I'm checking your order now."); err != nil {
		t.Fatal(err)
	}
	firstReply := e.clock.Now()
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Reply(ctx, anna, tk.ID, "It arrives tomorrow."); err != nil {
		t.Fatal(err)
	}
	tk = e.ticket(tk.ID)
	if !tk.FirstReplyAt.Equal(firstReply) {
		t.Errorf("FirstReplyAt = %v, want the first reply's time %v", tk.FirstReplyAt, firstReply)
	}
	if len(tk.Notes) != 1 || tk.Notes[0].AgentID != "anna" {
		t.Errorf("notes = %+v", tk.Notes)
	}

	if _, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeBot); err != nil {
		t.Fatal(err)
	}
	tk = e.ticket(tk.ID)
	if tk.Status != StatusResolved || tk.Outcome != OutcomeBot || !tk.ResolvedAt.Equal(e.clock.Now()) {
		t.Errorf("resolved ticket = %+v", tk)
	}
	if diff := cmp.Diff([]string{c.ID}, e.rec.resumed); diff != "" {
		t.Errorf("resumed (-want +got):\n%s", diff)
	}

	// What reached the customer: the join notice, both replies with the
	// agent's name, the closing notice; never the note.
	want := []Delivery{
		{ContactID: c.ID, Address: "telegram:42", Text: "Anna has joined the conversation."},
		{ContactID: c.ID, Address: "telegram:42", Text: "Hello Ivan, I'm checking your order now.", SenderID: "anna", SenderName: "Anna"},
		{ContactID: c.ID, Address: "telegram:42", Text: "It arrives tomorrow.", SenderID: "anna", SenderName: "Anna"},
		{ContactID: c.ID, Address: "telegram:42", Text: DefaultTexts["en"].Resolved},
	}
	if diff := cmp.Diff(want, e.rec.deliveries()); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	hist, err := e.db.History(c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if strings.Contains(m.Text, "coupon") {
			t.Errorf("the internal note reached the history: %+v", m)
		}
	}
	wantEvents := []string{"ticket.queued", "ticket.assigned", "ticket.note", "ticket.first_reply", "ticket.reply", "ticket.resolved"}
	if diff := cmp.Diff(wantEvents, e.events()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if d := e.route(c, "thanks", ""); d.Owner != OwnerBot {
		t.Errorf("after resolve the owner is %q, want bot", d.Owner)
	}
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.contact("web:v1", "", "en")
	tk, _ := e.escalate(c, "requested", "")
	const n = 8
	agents := make([]store.Agent, n)
	for i := range agents {
		agents[i] = e.agent(fmt.Sprintf("agent%d", i), RoleAgent)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	startGun := make(chan struct{})
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGun
			_, errs[i] = e.svc.Claim(context.Background(), agents[i], tk.ID)
		}()
	}
	close(startGun)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil && winner == "":
			winner = agents[i].ID
		case err == nil:
			t.Fatalf("two winners: %s and %s", winner, agents[i].ID)
		default:
			mustErr(t, err, store.ErrConflict)
		}
	}
	if winner == "" {
		t.Fatal("nobody won the claim")
	}
	if got := e.ticket(tk.ID); got.AgentID != winner || got.Status != StatusAssigned {
		t.Errorf("ticket = %s/%s, want assigned to the winner %s", got.Status, got.AgentID, winner)
	}
	if got := len(e.rec.deliveries()); got != 1 {
		t.Errorf("%d join notices sent, want 1", got)
	}
}

// A claim is committed, the process dies before the agent replies: after a
// restart the ticket still belongs to that agent and the reply goes out.
func TestCrashBetweenClaimAndReply(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	bob := e.agent("bob", RoleAgent)
	c := e.contact("vk:777", "", "ru")
	tk, _ := e.escalate(c, "not_understood", "")
	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	path := e.db.Path()
	e.svc.Close()
	if err := e.db.Close(); err != nil { // the "crash": nothing after the claim ran
		t.Fatal(err)
	}

	db, err := store.Open(path, store.Options{Clock: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db, e.rec.db = db, db
	e.svc = e.service(db)

	got := e.ticket(tk.ID)
	if got.Status != StatusAssigned || got.AgentID != "anna" {
		t.Fatalf("after restart ticket = %s/%q, want assigned to anna", got.Status, got.AgentID)
	}
	if _, err := e.svc.Claim(ctx, bob, tk.ID); err == nil {
		t.Fatal("bob claimed a ticket anna holds")
	}
	if _, err := e.svc.Reply(ctx, anna, tk.ID, "Здравствуйте, я здесь."); err != nil {
		t.Fatal(err)
	}
	if got := e.ticket(tk.ID); got.FirstReplyAt.IsZero() {
		t.Error("FirstReplyAt not set by the reply after restart")
	}
	if d := e.route(c, "спасибо", ""); d.Owner != OwnerTicket {
		t.Errorf("owner after restart = %q, want ticket", d.Owner)
	}
}

func TestOwnershipBotSilentWhileTicketOpen(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	c := e.contact("web:abc", "", "en")
	other := e.contact("web:other", "", "en")
	if d := e.route(c, "hi", ""); d.Owner != OwnerBot {
		t.Fatalf("no ticket: owner %q, want bot", d.Owner)
	}
	tk, _ := e.escalate(c, "requested", "")
	if d := e.route(c, "hello? anyone?", ""); d.Owner != OwnerTicket || d.Ticket.ID != tk.ID || d.Change != nil || len(d.Notices) != 0 {
		t.Errorf("queued ticket: decision %+v, want ticket owner, no change, no notices", d)
	}
	if d := e.route(other, "hi", ""); d.Owner != OwnerBot {
		t.Errorf("another contact: owner %q, want bot", d.Owner)
	}
	if _, err := e.svc.Claim(ctx, anna, tk.ID); err != nil {
		t.Fatal(err)
	}
	if d := e.route(c, "ok", ""); d.Owner != OwnerTicket {
		t.Errorf("assigned ticket: owner %q, want ticket", d.Owner)
	}
	// The bot cannot open a second ticket over the first.
	_, _, err := e.svc.Escalate(ctx, Request{ContactID: c.ID, Address: "web:abc", Reason: "negative"})
	mustErr(t, err, store.ErrTicketOpen)
	if _, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd); err != nil {
		t.Fatal(err)
	}
	if len(e.rec.resumed) != 0 {
		t.Errorf("outcome end resumed the bot: %v", e.rec.resumed)
	}
}

func TestReplyOnlyByHolder(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	anna, bob := e.agent("anna", RoleAgent), e.agent("bob", RoleAgent)
	lead := e.agent("lena", RoleLead)
	c := e.contact("telegram:1", "", "en")
	tk, _ := e.escalate(c, "requested", "")

	_, err := e.svc.Reply(ctx, anna, tk.ID, "hi")
	mustErr(t, err, ErrConflict) // queued: claim first
	e.svc.Claim(ctx, anna, tk.ID)
	_, err = e.svc.Reply(ctx, bob, tk.ID, "hi")
	mustErr(t, err, ErrForbidden) // bob cannot even see it
	_, err = e.svc.Reply(ctx, lead, tk.ID, "hi")
	mustErr(t, err, ErrConflict) // leads reassign first, one voice at a time
	_, err = e.svc.Reply(ctx, anna, tk.ID, "   ")
	mustErr(t, err, ErrBadRequest)
	_, err = e.svc.Reply(ctx, anna, tk.ID, strings.Repeat("x", maxReplyLen+1))
	mustErr(t, err, ErrBadRequest)

	// Transfer anna -> bob: anna is out, bob is in.
	if _, err := e.svc.Transfer(ctx, anna, tk.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Reply(ctx, anna, tk.ID, "still me")
	mustErr(t, err, ErrForbidden)
	if _, err := e.svc.Reply(ctx, bob, tk.ID, "Bob here"); err != nil {
		t.Fatal(err)
	}
	// An agent cannot move a ticket they do not hold; a lead can.
	_, err = e.svc.Transfer(ctx, anna, tk.ID, "anna")
	mustErr(t, err, ErrForbidden)
	if _, err := e.svc.Transfer(ctx, lead, tk.ID, "anna"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Transfer(ctx, lead, tk.ID, "nobody")
	mustErr(t, err, ErrBadRequest)
	// Back to the queue.
	if got, err := e.svc.Transfer(ctx, anna, tk.ID, ""); err != nil || got.Status != StatusQueued || got.AgentID != "" {
		t.Fatalf("release to queue: %+v, %v", got, err)
	}
	var joined []string
	for _, d := range e.rec.deliveries() {
		if d.SenderID == "" {
			joined = append(joined, d.Text)
		}
	}
	want := []string{"Anna has joined the conversation.", "Bob has joined the conversation.", "Anna has joined the conversation."}
	if diff := cmp.Diff(want, joined); diff != "" {
		t.Errorf("system notices (-want +got):\n%s", diff)
	}
}

// A reply whose turn finds the ticket moved (transfer between the check and
// the commit) is not delivered.
func TestReplyRaceWithTransfer(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	e.agent("bob", RoleAgent)
	lead := e.agent("lena", RoleLead)
	c := e.contact("telegram:5", "", "en")
	tk, _ := e.escalate(c, "requested", "")
	e.svc.Claim(ctx, anna, tk.ID)
	e.rec.reset()
	// Simulate the race: the change built for anna runs after the transfer.
	var change *store.TicketChange
	e.svc.d = deliverFunc(func(d Delivery) error { change = d.Ticket; return nil })
	if _, err := e.svc.Reply(ctx, anna, tk.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	e.svc.d = e.rec
	if _, err := e.svc.Transfer(ctx, lead, tk.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	_, err := e.db.Commit(ctx, store.Turn{ContactID: c.ID, UpdateTicket: change,
		Messages: []store.Message{{Dir: store.DirOut, Text: "hello", Sender: "agent:anna"}}})
	mustErr(t, err, store.ErrConflict)
}

type deliverFunc func(Delivery) error

func (f deliverFunc) Deliver(_ context.Context, d Delivery) error { return f(d) }
func (f deliverFunc) Resume(context.Context, string) error        { return nil }

func TestEscalateValidation(t *testing.T) {
	e := newEnv(t, Config{})
	_, _, err := e.svc.Escalate(context.Background(), Request{ContactID: "c1", Address: "fax:1", Reason: "Angry!", Priority: "asap"})
	mustErr(t, err, ErrBadRequest)
	for _, want := range []string{`address "fax:1"`, `reason "Angry!"`, `priority "asap"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestCSAT(t *testing.T) {
	cases := []struct {
		name, text, payload string
		owner               string
		csat                int
		outcome             string
		comment             string
	}{
		{"button", "5", "csat:5", OwnerCSAT, 5, OutcomeCSAT, ""},
		{"typed digit", " 3 ", "", OwnerCSAT, 3, OutcomeCSAT, ""},
		{"stars", "⭐⭐⭐⭐", "", OwnerCSAT, 4, OutcomeCSAT, ""},
		{"out of range", "7", "", OwnerBot, 0, OutcomeBot, ""},
		{"zero", "0", "", OwnerBot, 0, OutcomeBot, ""},
		{"free text", "where is my refund?", "", OwnerBot, 0, OutcomeBot, ""},
		{"with a comment", "4 — быстро и вежливо", "", OwnerCSAT, 4, OutcomeCSAT, "быстро и вежливо"},
		{"out of five with a comment", "5/5, спасибо!", "", OwnerCSAT, 5, OutcomeCSAT, "спасибо!"},
		{"stars with a comment", "⭐⭐⭐ долго ждал", "", OwnerCSAT, 3, OutcomeCSAT, "долго ждал"},
		{"a number in a sentence is no rating", "3 дня жду ответа", "", OwnerBot, 0, OutcomeBot, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{CSAT: true})
			ctx := context.Background()
			anna := e.agent("anna", RoleAgent)
			c := e.contact("web:v", "", "en")
			tk, _ := e.escalate(c, "requested", "")
			e.svc.Claim(ctx, anna, tk.ID)
			if _, err := e.svc.Resolve(ctx, anna, tk.ID, OutcomeCSAT); err != nil {
				t.Fatal(err)
			}
			ds := e.rec.deliveries()
			q := ds[len(ds)-1]
			var wantButtons []channel.Button
			for i := 1; i <= 5; i++ {
				wantButtons = append(wantButtons, channel.Button{Text: fmt.Sprint(i), Value: fmt.Sprint("csat:", i)})
			}
			if q.Text != DefaultTexts["en"].CSATQuestion || !cmp.Equal(q.Buttons, wantButtons) {
				t.Fatalf("CSAT question = %+v", q)
			}
			if len(e.rec.resumed) != 0 {
				t.Fatal("bot resumed before the CSAT answer")
			}
			d := e.route(c, tc.text, tc.payload)
			if d.Owner != tc.owner || !d.Resume {
				t.Errorf("decision owner %q resume %v, want %q and resume", d.Owner, d.Resume, tc.owner)
			}
			got := e.ticket(tk.ID)
			if got.CSAT != tc.csat || got.Outcome != tc.outcome {
				t.Errorf("ticket csat %d outcome %q, want %d %q", got.CSAT, got.Outcome, tc.csat, tc.outcome)
			}
			if tc.owner == OwnerCSAT && (len(d.Notices) != 1 || d.Notices[0].Text != "Thank you for your rating!") {
				t.Errorf("notices = %+v", d.Notices)
			}
			if tc.owner == OwnerCSAT {
				if len(d.Events) != 1 || d.Events[0].Type != "ticket.csat" || d.Events[0].Data["comment"] != tc.comment {
					t.Errorf("events = %+v, want ticket.csat with comment %q", d.Events, tc.comment)
				}
			}
			// Answered or not, the next message is the bot's.
			if d := e.route(c, "4", ""); d.Owner != OwnerBot || d.Change != nil {
				t.Errorf("second message: %+v, want plain bot", d)
			}
		})
	}
}

func TestCSATSwitchedOff(t *testing.T) {
	e := newEnv(t, Config{})
	anna := e.agent("anna", RoleAgent)
	c := e.contact("web:v", "", "en")
	tk, _ := e.escalate(c, "requested", "")
	e.svc.Claim(context.Background(), anna, tk.ID)
	_, err := e.svc.Resolve(context.Background(), anna, tk.ID, OutcomeCSAT)
	mustErr(t, err, ErrBadRequest)
	_, err = e.svc.Resolve(context.Background(), anna, tk.ID, "later")
	mustErr(t, err, ErrBadRequest)
}

func TestReopenWindow(t *testing.T) {
	e := newEnv(t, Config{ReopenWindow: time.Hour})
	ctx := context.Background()
	anna := e.agent("anna", RoleAgent)
	c := e.contact("telegram:9", "", "ru")
	tk, _ := e.escalate(c, "requested", "")
	e.svc.Claim(ctx, anna, tk.ID)
	e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd)

	// Within the window, anna offline: the ticket goes back to the queue.
	e.clock.Advance(59 * time.Minute)
	d := e.route(c, "и ещё вопрос", "")
	if d.Owner != OwnerTicket || d.Ticket.ID != tk.ID {
		t.Fatalf("decision = %+v, want the same ticket reopened", d)
	}
	if len(d.Notices) != 1 || d.Notices[0].Text != DefaultTexts["ru"].Reopened {
		t.Errorf("notices = %+v", d.Notices)
	}
	got := e.ticket(tk.ID)
	if got.Status != StatusQueued || got.AgentID != "" || !got.ReopenedAt.Equal(e.clock.Now()) || !got.ResolvedAt.IsZero() {
		t.Errorf("reopened ticket = %+v", got)
	}
	if d := e.route(c, "алло", ""); d.Owner != OwnerTicket || d.Change != nil {
		t.Errorf("next message: %+v, want the open ticket without a change", d)
	}

	// Anna online: it comes back straight to her.
	e.svc.Claim(ctx, anna, tk.ID)
	e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd)
	e.clock.Advance(10 * time.Minute)
	e.online(anna)
	e.route(c, "забыл спросить", "")
	if got := e.ticket(tk.ID); got.Status != StatusAssigned || got.AgentID != "anna" {
		t.Errorf("reopened with anna online: %s/%q, want assigned to anna", got.Status, got.AgentID)
	}

	// After the window it is the bot's.
	e.svc.Resolve(ctx, anna, tk.ID, OutcomeEnd)
	e.clock.Advance(61 * time.Minute)
	if d := e.route(c, "привет", ""); d.Owner != OwnerBot || d.Change != nil || !d.Resume {
		t.Errorf("after the window: %+v, want bot, resumed out of the handoff", d)
	}
	// Outcome bot never reopens.
	tk2, _ := e.escalate(c, "requested", "")
	e.svc.Claim(ctx, anna, tk2.ID)
	e.svc.Resolve(ctx, anna, tk2.ID, OutcomeBot)
	if d := e.route(c, "ещё", ""); d.Owner != OwnerBot {
		t.Errorf("after outcome bot: owner %q", d.Owner)
	}
	evs := strings.Join(e.events(), " ")
	if strings.Count(evs, "ticket.reopened") != 2 {
		t.Errorf("events %s: want two ticket.reopened", evs)
	}
}

// The summary speaks the agents' language: the project's default, which the
// console shows too.
func TestSummaryInTheProjectLanguage(t *testing.T) {
	e := newEnv(t, Config{DefaultLang: "ru"})
	c := e.contact("telegram:43", "Иван", "ru")
	e.say(c, "где мой заказ 1234567?")
	e.botSays(c, "Он в пути.")
	tk, _ := e.escalate(c, "requested", "")
	for _, want := range []string{"Причина: Попросил оператора", "Собрано: order=1234567", "Последние сообщения: Клиент: где мой заказ", "Бот: Он в пути."} {
		if !strings.Contains(tk.Summary, want) {
			t.Errorf("summary %q lacks %q", tk.Summary, want)
		}
	}
}
