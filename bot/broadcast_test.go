package bot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/segment"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// crashingMarks is the store with MarkRecipient failing once after a
// trigger was recorded: the process died between the two writes.
type crashingMarks struct {
	*store.DB
	crashAt int // recipient index whose mark fails
}

func (c crashingMarks) MarkRecipient(ctx context.Context, id string, i int, outcome, detail, trigger string) (bool, error) {
	if i == c.crashAt {
		return false, errors.New("killed")
	}
	return c.DB.MarkRecipient(ctx, id, i, outcome, detail, trigger)
}

// newBroadcastEnv runs the trigger test project over a real bbolt file
// with a recording Telegram sender.
func newBroadcastEnv(t *testing.T, clk *storetest.Clock) (*store.DB, *Runtime, *recordingSender) {
	t.Helper()
	p, err := flows.LoadDir(filepath.Join("testdata", "trigger"))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	tg := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger(), Clock: clk.Now, TriggerIdle: time.Hour, TriggerSweep: time.Hour}, db, p.NewEngine(flows.Options{}), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	return db, rt, tg
}

// The send window is in each contact's own time zone when it has one: a
// customer in Vladivostok is not woken by a Moscow morning broadcast.
func TestBroadcastWindowInContactTimeZone(t *testing.T) {
	// 09:30 in Moscow, 16:30 in Vladivostok.
	clk := storetest.NewClock(time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC))
	db, rt, tg := newBroadcastEnv(t, clk)
	ctx := context.Background()
	for i, tz := range []string{"Asia/Vladivostok", "", "Not/AZone"} {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 300+i), "", "en")
		if err != nil {
			t.Fatal(err)
		}
		c.Fields = map[string]string{"time_zone": tz}
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
			t.Fatal(err)
		}
	}
	bc, err := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "shipped", Params: map[string]any{"order": "TZ"},
		Rate: 600, Window: "09:00-12:00"})
	if err != nil {
		t.Fatal(err)
	}
	if bc, err = StartBroadcast(ctx, db, bc.ID, clk.Now()); err != nil || bc.Total != 3 {
		t.Fatalf("start = %+v, %v", bc, err)
	}
	moscow, _ := time.LoadLocation("Europe/Moscow")
	run := NewBroadcaster(rt, db, moscow, clk.Now, quietLogger())
	marked := 0
	for range 3 {
		n, err := run.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		marked += n
		clk.Advance(time.Second)
	}
	if marked != 2 {
		t.Fatalf("Moscow morning marked %d; want the two without a zone of their own", marked)
	}
	flush(t, rt)
	if bc, _ = db.Broadcast(bc.ID); bc.State != store.BroadcastRunning || bc.Counts[store.OutcomeQueued] != 1 {
		t.Fatalf("broadcast = %+v, want running with Vladivostok queued", bc)
	}
	rs, _ := db.Recipients(bc.ID, 0, 0)
	for _, r := range rs {
		if (r.Outcome == store.OutcomeQueued) != (r.TimeZone == "Asia/Vladivostok") {
			t.Fatalf("recipient %+v", r)
		}
	}
	// 23:00 UTC: 09:00 next day in Vladivostok, 02:00 in Moscow.
	clk.Advance(16*time.Hour + 30*time.Minute)
	if n, err := run.Step(ctx); n != 1 || err != nil {
		t.Fatalf("Vladivostok morning marked %d, %v", n, err)
	}
	flush(t, rt)
	if bc, _ = db.Broadcast(bc.ID); bc.State != store.BroadcastDone {
		t.Fatalf("broadcast = %+v, want done", bc)
	}
	got := map[string]bool{}
	for _, o := range tg.sent() {
		if o.Text == "Order TZ shipped." {
			got[o.To.ID] = true
		}
	}
	if len(got) != 3 {
		t.Fatalf("sent to %v, want all three", got)
	}
}

func TestBroadcastRateWindowRestartExactlyOnce(t *testing.T) {
	// 08:59:58 in Kazan (UTC+3): the window opens in two seconds.
	clk := storetest.NewClock(time.Date(2026, 12, 1, 5, 59, 58, 0, time.UTC))
	db, rt, tg := newBroadcastEnv(t, clk)
	ctx := context.Background()

	// 10 customers in Kazan (one opted out of Telegram marketing), 3 in Moscow.
	var optedOut string
	for i := range 13 {
		c, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 100+i), "", "en")
		if err != nil {
			t.Fatal(err)
		}
		c.Fields = map[string]string{"city": "Kazan", "last_order": "2026-08-01"}
		if i >= 10 {
			c.Fields["city"] = "Moscow"
		}
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			optedOut = c.ID
			if _, err := db.SetConsent(ctx, c.ID, "telegram", true, "message"); err != nil {
				t.Fatal(err)
			}
		}
	}
	seg, err := segment.Compile(`contact.city == "Kazan" && days_since(contact.last_order) > 90`)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := PreviewSegment(db, seg, clk.Now(), 3)
	if err != nil || pv.Count != 10 || len(pv.Sample) != 3 {
		t.Fatalf("preview = %d contacts, sample %d, %v; want 10 and 3", pv.Count, len(pv.Sample), err)
	}

	bc := store.Broadcast{Name: "winter", Segment: seg.Src, Flow: "shipped", Params: map[string]any{"order": "WINTER"},
		Rate: 60, Window: "09:00-21:00", TimeZone: "Europe/Moscow"}
	if err := CheckBroadcast(bc, rt.KnowsFlow); err != nil {
		t.Fatal(err)
	}
	bc, err = db.CreateBroadcast(ctx, bc)
	if err != nil {
		t.Fatal(err)
	}
	if bc, err = StartBroadcast(ctx, db, bc.ID, clk.Now()); err != nil || bc.Total != 10 {
		t.Fatalf("start = %+v, %v", bc, err)
	}

	run := NewBroadcaster(rt, crashingMarks{DB: db, crashAt: 4}, nil, clk.Now, quietLogger())
	step := func(r *Broadcaster) (int, error) {
		n, err := r.Step(ctx)
		flush(t, rt)
		return n, err
	}
	// Outside the window nothing goes.
	if n, err := step(run); n != 0 || err != nil || len(tg.sent()) != 0 {
		t.Fatalf("before 09:00 marked %d (%v), sent %d", n, err, len(tg.sent()))
	}
	clk.Advance(2 * time.Second)
	// 60 a minute: one a second, however often the runner looks.
	for range 4 {
		if n, err := step(run); n != 1 || err != nil {
			t.Fatalf("a step at the rate marked %d, %v; want 1", n, err)
		}
		if n, _ := step(run); n != 0 {
			t.Fatalf("a second step in the same second marked %d", n)
		}
		clk.Advance(time.Second)
	}
	// Recipient 4 is triggered, then the process dies before its mark.
	if _, err := step(run); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("step with the crash = %v", err)
	}
	shipped := func() int {
		n := 0
		for _, o := range tg.sent() {
			if o.Text == "Order WINTER shipped." {
				n++
			}
		}
		return n
	}
	sentBefore := shipped()
	rs, _ := db.Recipients(bc.ID, 0, 0)
	want := 0 // recipients 0..4 but the opted-out one
	for _, r := range rs[:5] {
		if r.ContactID != optedOut {
			want++
		}
	}
	if sentBefore != want {
		t.Fatalf("before the restart %d customers got it, want %d", sentBefore, want)
	}
	// A new runner (restart) resumes at recipient 4: its trigger replays,
	// nothing is sent twice.
	run = NewBroadcaster(rt, db, nil, clk.Now, quietLogger())
	for range 20 {
		clk.Advance(time.Second)
		if _, err := step(run); err != nil {
			t.Fatal(err)
		}
	}
	if got := shipped(); got != 9 {
		t.Fatalf("after the restart %d customers in all got it, want 9", got)
	}
	bc, _ = db.Broadcast(bc.ID)
	if bc.State != store.BroadcastDone || bc.Counts[store.OutcomeSent] != 9 || bc.Counts[store.OutcomeOptedOut] != 1 {
		t.Fatalf("broadcast = %s %v, want done with 9 sent and 1 opted out", bc.State, bc.Counts)
	}
	per := map[string]int{}
	for _, o := range tg.sent() {
		if o.Text != "Order WINTER shipped." {
			continue
		}
		per[o.To.ID]++
	}
	if len(per) != 9 {
		t.Fatalf("%d customers got the broadcast, want 9: %v", len(per), per)
	}
	for id, n := range per {
		if n != 1 {
			t.Errorf("telegram:%s got it %d times", id, n)
		}
		if id == "103" || id >= "110" {
			t.Errorf("telegram:%s (opted out or in Moscow) got it", id)
		}
	}
	rs, _ = db.Recipients(bc.ID, 0, 0)
	for _, r := range rs {
		if want := r.ContactID == optedOut; want != (r.Outcome == store.OutcomeOptedOut) {
			t.Errorf("recipient %d %s: %s", r.Index, r.ContactID, r.Outcome)
		}
	}
}

func TestBroadcastWindowClosesAndPauses(t *testing.T) {
	w, err := ParseSendWindow("21:00-09:00")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.UTC) }
	if !w.Open(at(23, 0)) || !w.Open(at(8, 59)) || w.Open(at(9, 0)) || w.Open(at(12, 0)) {
		t.Fatal("overnight window wrong")
	}
	for _, bad := range []string{"9-21", "09:00", "25:00-26:00", "10:00-10:00"} {
		if _, err := ParseSendWindow(bad); err == nil {
			t.Errorf("window %q accepted", bad)
		}
	}
	if err := CheckBroadcast(store.Broadcast{Segment: "contact.tickets > \"x\"", Flow: "f", Rate: 1}, nil); err == nil {
		t.Error("a segment that does not type-check was accepted")
	}
	if err := CheckBroadcast(store.Broadcast{Segment: "true", Flow: "f", Rate: 1, TimeZone: "Mars/Base"}, nil); err == nil {
		t.Error("an unknown time zone was accepted")
	}
}

// pausingTriggerer pauses the broadcast right after its second trigger, as
// a lead would in the middle of a step.
type pausingTriggerer struct {
	rt    *Runtime
	db    *store.DB
	id    *string
	calls *int
}

func (p pausingTriggerer) Trigger(ctx context.Context, req TriggerRequest) (TriggerResult, error) {
	res, err := p.rt.Trigger(ctx, req)
	if *p.calls++; *p.calls < 2 {
		return res, err
	}
	if _, perr := p.db.SetBroadcastState(ctx, *p.id, store.BroadcastPaused); perr != nil {
		return res, perr
	}
	return res, err
}

// A pause takes effect before the next send, also inside one step.
func TestBroadcastPauseStopsTheStep(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	db, rt, tg := newBroadcastEnv(t, clk)
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := db.ResolveContact(ctx, fmt.Sprintf("telegram:%d", 400+i), "", "en"); err != nil {
			t.Fatal(err)
		}
	}
	bc, _ := db.CreateBroadcast(ctx, store.Broadcast{Segment: "true", Flow: "shipped", Params: map[string]any{"order": "P"}, Rate: 60000})
	bc, err := StartBroadcast(ctx, db, bc.ID, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	run := NewBroadcaster(pausingTriggerer{rt: rt, db: db, id: &bc.ID, calls: &calls}, db, nil, clk.Now, quietLogger())
	if n, err := run.Step(ctx); n != 1 || err != nil {
		t.Fatalf("first step marked %d, %v", n, err)
	}
	clk.Advance(time.Second) // a second's worth at 60000/minute: the four left are allowed
	if n, err := run.Step(ctx); n != 1 || err != nil {
		t.Fatalf("step with a pause after the first send marked %d, %v; want 1", n, err)
	}
	flush(t, rt)
	if bc, _ = db.Broadcast(bc.ID); bc.State != store.BroadcastPaused || bc.Counts[store.OutcomeQueued] != 3 || len(tg.sent()) != 4 {
		t.Fatalf("after the pause: %s %v, %d messages sent", bc.State, bc.Counts, len(tg.sent()))
	}
}
