package bot

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// A cascade stops at the first channel the contact reacted to and reaches
// the expensive one only for those who did not; its report compares the
// cost with every channel at once.
func TestCascadeReachesTheGatewayOnlyWithoutAReaction(t *testing.T) {
	p, err := flows.LoadDir(filepath.Join("testdata", "trigger"))
	if err != nil {
		t.Fatal(err)
	}
	clk := storetest.NewClock(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC))
	db := storetest.OpenWith(t, store.Options{Clock: clk.Now})
	tg := &recordingSender{name: channel.Telegram}
	sms := &recordingSender{name: channel.SMS}
	rt := New(Config{Logger: quietLogger(), Clock: clk.Now, TriggerIdle: time.Minute, TriggerSweep: time.Hour,
		ChannelCost: map[string]float64{"sms": 3.5, "telegram": 0}}, db, p.NewEngine(flows.Options{}), tg, sms)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	ctx := context.Background()
	// Two customers on Telegram with phone numbers too.
	var ids []string
	for _, n := range []string{"1", "2"} {
		if err := rt.HandleInbound(ctx, channel.Inbound{From: channel.Address{Channel: channel.Telegram, ID: n}, EventID: "e" + n, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		flush(t, rt)
		c, _ := db.ContactByIdentity("telegram:" + n)
		c.Identities = append(c.Identities, "sms:+7900000000"+n)
		if _, err := db.Commit(ctx, store.Turn{ContactID: c.ID, Contact: &c}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	clk.Advance(time.Hour)
	steps := []CascadeStep{{Channel: "telegram", Wait: 2 * time.Hour}, {Channel: "sms"}}
	var cascades []string
	for _, id := range ids {
		res, err := rt.Trigger(ctx, TriggerRequest{ContactID: id, Flow: "shipped", Params: map[string]any{"order": "X"}, Cascade: steps})
		if err != nil || res.Channel != "telegram" || res.Cascade == "" {
			t.Fatalf("cascade trigger = %+v, %v", res, err)
		}
		cascades = append(cascades, res.Cascade)
	}
	flush(t, rt)
	// Customer 1 answers on Telegram; customer 2 does not.
	clk.Advance(30 * time.Minute)
	if err := rt.HandleInbound(ctx, channel.Inbound{From: channel.Address{Channel: channel.Telegram, ID: "1"}, EventID: "r1", Text: "Yes"}); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	// Before the wait is over nothing moves.
	if err := rt.sweepCascades(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sms.sent()) != 0 {
		t.Fatal("the SMS step ran before the Telegram step's wait was over")
	}
	clk.Advance(2 * time.Hour)
	if err := rt.sweepCascades(ctx); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	got := sms.sent()
	if len(got) == 0 || got[0].To.ID != "+79000000002" || got[0].Text != "Order X shipped." {
		t.Fatalf("SMS sent %+v; want the flow to customer 2 only", got)
	}
	for _, o := range got {
		if o.To.ID != "+79000000002" {
			t.Fatalf("SMS to %s, who reacted on Telegram", o.To.ID)
		}
	}
	c1, _ := rt.CascadeByID(cascades[0])
	c2, _ := rt.CascadeByID(cascades[1])
	if c1.Status != CascadeReacted || c1.Spent != 0 || c1.AllAtOnce != 3.5 {
		t.Fatalf("cascade 1 = %+v; want reacted, nothing spent of 3.5", c1)
	}
	if c2.Status != CascadeRunning || c2.Step != 1 || c2.Spent != 3.5 || len(c2.Sent) != 2 {
		t.Fatalf("cascade 2 = %+v; want at the SMS step, 3.5 spent", c2)
	}
	// The last step's wait (0) is over at the next sweep: exhausted, and
	// sweeping again sends nothing more.
	before := len(sms.sent())
	clk.Advance(time.Hour)
	rt.sweepCascades(ctx)
	rt.sweepCascades(ctx)
	flush(t, rt)
	if c2, _ = rt.CascadeByID(cascades[1]); c2.Status != CascadeExhausted || len(sms.sent()) != before {
		t.Fatalf("cascade 2 after its last step = %+v, %d more SMS", c2, len(sms.sent())-before)
	}
	// A contact reachable on none of the steps' channels is refused.
	c3, _, _ := db.ResolveContact(ctx, "vk:9", "", "")
	if _, err := rt.Trigger(ctx, TriggerRequest{ContactID: c3.ID, Flow: "shipped", Cascade: steps}); !errors.Is(err, ErrNoChannel) {
		t.Fatalf("cascade to an unreachable contact = %v", err)
	}
}
