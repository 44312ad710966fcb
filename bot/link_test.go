package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// linkRig is a runtime over the small delivery project in testdata/link
// with a Telegram and a web chat channel and a settable clock.
type linkRig struct {
	t       *testing.T
	db      *store.DB
	clk     *storetest.Clock
	rt      *Runtime
	tg, web *recordingSender
	n       int
}

var (
	tgAddr  = channel.Address{Channel: channel.Telegram, ID: "100"}
	webAddr = channel.Address{Channel: channel.Web, ID: "v1"}
)

func newLinkRig(t *testing.T, cfg LinkConfig) *linkRig {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	p, err := flows.LoadDir(filepath.Join("testdata", "link"))
	if err != nil {
		t.Fatal(err)
	}
	g := &linkRig{t: t, db: db, clk: clk, tg: &recordingSender{name: channel.Telegram}, web: &recordingSender{name: channel.Web}}
	g.rt = New(Config{Logger: quietLogger(), Clock: clk.Now, Link: cfg}, db, p.NewEngine(flows.Options{Now: clk.Now}), g.tg, g.web)
	if err := g.rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.rt.Shutdown(context.Background()) })
	return g
}

// send delivers one message a second after the previous one and waits
// until its turn ran and its replies were sent.
func (g *linkRig) send(from channel.Address, text, ref string) {
	g.t.Helper()
	g.clk.Advance(time.Second)
	g.n++
	in := channel.Inbound{From: from, EventID: fmt.Sprint("e", g.n), Text: text, Ref: ref, Lang: "en"}
	if err := g.rt.HandleInbound(context.Background(), in); err != nil {
		g.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.rt.Flush(ctx); err != nil {
		g.t.Fatal(err)
	}
}

// last returns the text of the last message s sent.
func last(t *testing.T, s *recordingSender) string {
	t.Helper()
	got := s.sent()
	if len(got) == 0 {
		t.Fatalf("%s sent nothing", s.name)
	}
	return got[len(got)-1].Text
}

var codeRE = regexp.MustCompile(`[0-9A-Z]{4}-[0-9A-Z]{4}`)

func (g *linkRig) askCode(from channel.Address, s *recordingSender) string {
	g.t.Helper()
	g.send(from, "/link", "")
	code := codeRE.FindString(last(g.t, s))
	if code == "" {
		g.t.Fatalf("no code in %q", last(g.t, s))
	}
	return code
}

func (g *linkRig) contact(addr channel.Address) store.Contact {
	g.t.Helper()
	c, err := g.db.ContactByIdentity(addr.String())
	if err != nil {
		g.t.Fatal(err)
	}
	return c
}

func (g *linkRig) eventTypes(since time.Time) []string {
	g.t.Helper()
	var out []string
	if err := g.db.Events(since, g.clk.Now().Add(time.Hour), func(e store.Event) error {
		out = append(out, e.Type)
		return nil
	}); err != nil {
		g.t.Fatal(err)
	}
	return out
}

func TestLinkByCodeJoinsTwoChannelsIntoOneHistory(t *testing.T) {
	g := newLinkRig(t, LinkConfig{})
	g.send(tgAddr, "hi", "")
	g.send(tgAddr, "Kazan", "")
	if got := last(t, g.tg); got != "We deliver to Kazan. What would you like?" {
		t.Fatalf("telegram flow: %q", got)
	}
	g.send(webAddr, "hello", "")
	if got := last(t, g.web); got != "Which city do we deliver to?" {
		t.Fatalf("web flow: %q", got)
	}
	code := g.askCode(webAddr, g.web)
	tgContact := g.contact(tgAddr)
	g.send(tgAddr, strings.ToLower(code), "")

	done := "Done! Your channels are linked: it is one conversation now, no need to repeat anything."
	if last(t, g.tg) != done || last(t, g.web) != done {
		t.Errorf("confirmations: telegram %q, web %q", last(t, g.tg), last(t, g.web))
	}
	merged := g.contact(webAddr)
	if merged.ID != tgContact.ID {
		t.Fatalf("web:v1 belongs to %s, want the older telegram contact %s", merged.ID, tgContact.ID)
	}
	if diff := cmp.Diff([]string{"telegram:100", "web:v1"}, merged.Identities); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
	// The customer goes on in the web chat: the bot knows the city.
	before := len(g.web.sent())
	g.send(webAddr, "a sofa", "")
	if got := g.web.sent()[before].Text; got != "Noted: a sofa to Kazan" {
		t.Errorf("after the link the web chat got %q, want the flow to go on with what Telegram told it", got)
	}
	hist, err := g.db.History(merged.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"in: hi", "out: Which city do we deliver to?",
		"in: Kazan", "out: We deliver to Kazan. What would you like?",
		"in: hello", "out: Which city do we deliver to?",
		"in: /link", "out: Your link code: ••••-••••",
		"in: ••••-••••", "out: " + done, "out: " + done,
		"in: a sofa", "out: Noted: a sofa to Kazan", "out: We deliver to Kazan. What would you like?",
	}
	got := texts(hist)
	for i := range got {
		got[i], _, _ = strings.Cut(got[i], "\n") // the code message's first line
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("one history in time order (-want +got):\n%s", diff)
	}
	for i := 1; i < len(hist); i++ {
		if hist[i].At.Before(hist[i-1].At) {
			t.Errorf("history out of time order at %d", i+1)
		}
	}
	if strings.Contains(strings.Join(texts(hist), "\n"), code) {
		t.Error("the code is stored in clear in the history")
	}
	merges, err := g.db.Merges(merged.ID)
	if err != nil || len(merges) != 1 || merges[0].Reason != "link_code" || merges[0].By != "customer" {
		t.Errorf("merge records = %+v, %v", merges, err)
	}
}

func TestWrongOrExpiredCodeChangesNothing(t *testing.T) {
	g := newLinkRig(t, LinkConfig{TTL: 10 * time.Minute})
	g.send(tgAddr, "hi", "")
	g.send(webAddr, "hello", "")
	code := g.askCode(webAddr, g.web)
	tgBefore, webBefore := g.contact(tgAddr), g.contact(webAddr)
	tgSession, _ := g.db.Session(tgBefore.ID)

	g.clk.Advance(10 * time.Minute)
	since := g.clk.Now()
	g.send(tgAddr, code, "")
	if got := last(t, g.tg); !strings.Contains(got, "wrong or has expired") {
		t.Errorf("expired code answered %q", got)
	}
	g.send(tgAddr, "/link HJKM-2345", "")
	if got := last(t, g.tg); !strings.Contains(got, "wrong or has expired") {
		t.Errorf("wrong code answered %q", got)
	}
	// Only the refusal and its reply are recorded.
	if diff := cmp.Diff([]string{"message_out", "link_failed", "message_out", "link_failed"}, g.eventTypes(since)); diff != "" {
		t.Errorf("events of the refused attempts (-want +got):\n%s", diff)
	}
	if tg, web := g.contact(tgAddr), g.contact(webAddr); tg.ID != tgBefore.ID || web.ID != webBefore.ID || tg.ID == web.ID {
		t.Errorf("contacts changed: %s %s", tg.ID, web.ID)
	}
	if s, _ := g.db.Session(tgBefore.ID); string(s) != string(tgSession) {
		t.Error("a refused code ran the flow or changed the session")
	}
	if m, _ := g.db.Merges(tgBefore.ID); len(m) != 0 {
		t.Errorf("merge records: %+v", m)
	}
	// The customer's own code from the same chat is refused too.
	own := g.askCode(webAddr, g.web)
	g.send(webAddr, own, "")
	if got := last(t, g.web); !strings.Contains(got, "code for this chat") {
		t.Errorf("own code answered %q", got)
	}
	// A refused live code is not kept readable in the history, with or
	// without its dash.
	g.send(webAddr, strings.ToLower(strings.ReplaceAll(own, "-", "")), "")
	hist, err := g.db.History(webBefore.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if strings.Contains(strings.ToUpper(strings.ReplaceAll(m.Text, "-", "")), strings.ReplaceAll(own, "-", "")) {
			t.Errorf("history keeps the live code %s in clear: %q", own, m.Text)
		}
	}
}

func TestLinkAttemptsAreLimited(t *testing.T) {
	g := newLinkRig(t, LinkConfig{MaxAttempts: 3, Window: 15 * time.Minute})
	g.send(tgAddr, "hi", "")
	code := g.askCode(webAddr, g.web)
	for _, wrong := range []string{"HJKM-2345", "HJKM-2346", "HJKM-2347"} {
		g.send(tgAddr, wrong, "")
	}
	g.send(tgAddr, code, "")
	if got := last(t, g.tg); !strings.Contains(got, "Too many wrong codes") {
		t.Errorf("right code after the limit answered %q", got)
	}
	if g.contact(tgAddr).ID == g.contact(webAddr).ID {
		t.Fatal("linked past the attempt limit")
	}
	g.clk.Advance(15 * time.Minute)
	code = g.askCode(webAddr, g.web)
	g.send(tgAddr, code, "")
	if g.contact(tgAddr).ID != g.contact(webAddr).ID {
		t.Errorf("not linked once the window passed: %q", last(t, g.tg))
	}
}

func TestTelegramDeepLinkLinksWithoutTyping(t *testing.T) {
	g := newLinkRig(t, LinkConfig{TelegramBot: "parley_bot", VKGroup: "parley"})
	g.send(webAddr, "hello", "")
	g.send(webAddr, "link code", "")
	msg := last(t, g.web)
	m := regexp.MustCompile(`https://t\.me/parley_bot\?start=(link_[0-9a-z]+)`).FindStringSubmatch(msg)
	if m == nil || !strings.Contains(msg, "https://vk.me/parley?ref=link_") {
		t.Fatalf("no deep links in %q", msg)
	}
	// Telegram's adapter turns "/start <token>" into Text "/start", Ref token.
	g.send(tgAddr, "/start", m[1])
	if g.contact(tgAddr).ID != g.contact(webAddr).ID {
		t.Fatalf("deep link did not link: %q", last(t, g.tg))
	}
	hist, _ := g.db.History(g.contact(webAddr).ID, 0, 0)
	if strings.Contains(strings.Join(texts(hist), "\n"), m[1]) {
		t.Error("the token is stored in clear in the history")
	}
}

func TestLinkButtonPayloadAsksForACode(t *testing.T) {
	if !isLinkRequest(channel.Inbound{Payload: LinkPayload}) || isLinkRequest(channel.Inbound{Payload: "order", Text: "/link"}) {
		t.Error("payload recognition")
	}
	for _, s := range []string{"/link", "Link code", "код для связи!", "/link@ParleyBot", "Код связи"} {
		if !isLinkRequest(channel.Inbound{Text: s}) {
			t.Errorf("%q is not a link request", s)
		}
	}
	for _, s := range []string{"linking", "my code", "hello"} {
		if isLinkRequest(channel.Inbound{Text: s}) {
			t.Errorf("%q taken for a link request", s)
		}
	}
}

func TestMergeSessionsKeepsSurvivorPositionAndLearnsVars(t *testing.T) {
	into := []byte(`{"flow":"main","node":"known","vars":{"city":"Kazan"}}`)
	from := []byte(`{"flow":"main","node":"ask_city","vars":{"city":"Omsk","coupon":"X1"},"lang":"en"}`)
	out, err := mergeSessions(into, from)
	if err != nil {
		t.Fatal(err)
	}
	st, err := flows.UnmarshalState(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "known" || st.Vars["city"] != "Kazan" || st.Vars["coupon"] != "X1" || st.Lang != "en" {
		t.Errorf("merged = %s", out)
	}
}

// The code owner survives while the code arrives in the other lane with
// more messages queued behind it: those move to the survivor and are
// answered exactly once, in order (the absorbed lane drops them).
func TestQueuedMessagesOfTheAbsorbedContactRunOnce(t *testing.T) {
	g := newLinkRig(t, LinkConfig{})
	g.send(tgAddr, "hi", "")
	g.send(tgAddr, "Kazan", "")
	code := g.askCode(tgAddr, g.tg) // telegram is older: it survives
	g.send(webAddr, "hello", "")
	before := len(g.web.sent())
	g.clk.Advance(time.Second)
	ctx := context.Background()
	for i, text := range []string{code, "a sofa", "a lamp"} {
		in := channel.Inbound{From: webAddr, EventID: fmt.Sprint("q", i), Text: text, Lang: "en"}
		// Recorded even when the contact is merged away between resolving
		// and recording it: HandleInbound resolves again.
		if err := g.rt.HandleInbound(ctx, in); err != nil {
			c1, e1 := g.db.ContactByIdentity("web:v1")
			c2, e2 := g.db.ContactByIdentity("telegram:100")
			ms, _ := g.db.Merges(c1.ID)
			for _, m := range ms {
				t.Logf("merge %d into %s from %s %v at %v", m.ID, m.IntoID, m.From.ID, m.From.Identities, m.At)
			}
			t.Fatal(i, err, c1.ID, e1, c2.ID, e2)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.rt.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range g.web.sent()[before:] {
		got = append(got, o.Text)
	}
	want := []string{
		"Done! Your channels are linked: it is one conversation now, no need to repeat anything.",
		"Noted: a sofa to Kazan", "We deliver to Kazan. What would you like?",
		"Noted: a lamp to Kazan", "We deliver to Kazan. What would you like?",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("web replies after the link (-want +got):\n%s", diff)
	}
	if g.contact(webAddr).ID != g.contact(tgAddr).ID {
		t.Error("not linked")
	}
}

func TestCodeMessageLinksOnlyIntoOtherChannels(t *testing.T) {
	g := newLinkRig(t, LinkConfig{TelegramBot: "parley_bot"})
	g.askCode(tgAddr, g.tg)
	if msg := last(t, g.tg); strings.Contains(msg, "https://") || strings.Contains(msg, "Or just open") {
		t.Errorf("a Telegram deep link offered in Telegram itself: %q", msg)
	}
}

// TestCodeShapedAnswerGoesToTheFlow: while the flow waits for an answer, a
// code-shaped message typed without the dash (an order number like
// "HJKM2345") that is no live code is the flow's answer, though it still
// counts as an attempt; the same text with the dash, or after /link, is
// refused as before, and a live code typed without the dash still links.
func TestCodeShapedAnswerGoesToTheFlow(t *testing.T) {
	g := newLinkRig(t, LinkConfig{MaxAttempts: 3, Window: 15 * time.Minute})
	g.send(tgAddr, "hi", "") // the flow asks for the city
	g.send(tgAddr, "HJKM2345", "")
	if got := last(t, g.tg); got != "We deliver to HJKM2345. What would you like?" {
		t.Errorf("code-shaped answer got %q, want the flow's next question", got)
	}
	g.send(tgAddr, "HJKM-2346", "")
	if got := last(t, g.tg); !strings.Contains(got, "wrong or has expired") {
		t.Errorf("a dashed wrong code answered %q", got)
	}
	g.send(tgAddr, "/link hjkm2347", "")
	if got := last(t, g.tg); !strings.Contains(got, "wrong or has expired") {
		t.Errorf("/link with a wrong code answered %q", got)
	}
	// Three attempts are used up: a code-shaped answer still reaches the
	// flow, and even a live code is refused until the window passes.
	g.send(tgAddr, "HJKM2348", "")
	if sent := g.tg.sent(); len(sent) < 2 || sent[len(sent)-2].Text != "Noted: HJKM2348 to HJKM2345" {
		t.Errorf("a code-shaped answer past the limit got %q", last(t, g.tg))
	}
	code := g.askCode(webAddr, g.web)
	g.send(tgAddr, code, "")
	if got := last(t, g.tg); !strings.Contains(got, "Too many wrong codes") {
		t.Errorf("a live code past the limit answered %q", got)
	}
	g.clk.Advance(15 * time.Minute)
	code = g.askCode(webAddr, g.web)
	g.send(tgAddr, strings.ToLower(strings.ReplaceAll(code, "-", "")), "")
	if g.contact(tgAddr).ID != g.contact(webAddr).ID {
		t.Errorf("a live code typed without the dash did not link: %q", last(t, g.tg))
	}
}

// TestForgottenContactStartsOver: a contact erased while the runtime runs
// (an admin in the console) leaves no state behind in it: the customer's
// next message makes a new contact with a new conversation, and the store
// stays consistent.
func TestForgottenContactStartsOver(t *testing.T) {
	g := newLinkRig(t, LinkConfig{})
	g.send(tgAddr, "hi", "")
	g.send(tgAddr, "Berlin", "")
	if got := last(t, g.tg); got != "We deliver to Berlin. What would you like?" {
		t.Fatalf("before: %q", got)
	}
	old := g.contact(tgAddr)
	if _, err := g.db.ForgetContact(context.Background(), old.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	g.send(tgAddr, "hi again", "")
	if got := last(t, g.tg); got != "Which city do we deliver to?" {
		t.Errorf("after the erasure the bot answered %q, want a new conversation", got)
	}
	now := g.contact(tgAddr)
	if now.ID == old.ID {
		t.Error("the erased contact id came back")
	}
	if h, err := g.db.History(now.ID, 0, 0); err != nil || len(h) != 2 || h[0].Text != "hi again" {
		t.Errorf("new history = %+v, %v", h, err)
	}
	if err := g.db.Check(); err != nil {
		t.Error(err)
	}
}
