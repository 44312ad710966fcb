package crashserve

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The figures the harness prints are computed from what the fakes saw:
// this pins how (it runs in make test; the harness itself does not).
func TestAnalyseCountsLossDuplicatesAndReordering(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	msgs := []message{
		{id: 1, chat: 1, seq: 0, at: at(0), acked: at(5)},
		{id: 2, chat: 1, seq: 1, at: at(10), acked: at(15)},
		{id: 3, chat: 1, seq: 2, at: at(20), acked: at(25)}, // acknowledged, never answered: lost
		{id: 4, chat: 2, seq: 0, at: at(30), acked: at(35)},
		{id: 5, chat: 2, seq: 1, at: at(40), acked: at(45)},
		{id: 6, chat: 2, seq: 2, at: at(50), acked: at(55)},
		{id: 7, chat: 2, seq: 3, at: at(60)}, // not acknowledged, not answered
	}
	sent := []delivery{
		{chat: 1, text: "hello", at: at(100)},
		{chat: 1, text: "say something", at: at(101)},
		{chat: 1, text: "echo m1\n\nsay something", at: at(110)},
		{chat: 2, text: "hello", at: at(120)},
		{chat: 2, text: "say something", at: at(121)},
		// kill 1 at 130: chat 1's last reply and chat 2's two go again
		{chat: 1, text: "echo m1\n\nsay something", at: at(140)},
		{chat: 2, text: "hello", at: at(141)},
		{chat: 2, text: "say something", at: at(142)},
		{chat: 2, text: "echo m2", at: at(150)},
		{chat: 2, text: "echo m1", at: at(160)}, // after the answer to m2
	}
	got := analyseChannel(msgs, sent, []time.Time{at(130)}, false)
	want := Channel{Messages: 7, Acked: 6, Lost: 1, Unanswered: 1, Replies: 10,
		Duplicates: 3, MaxPerChatKill: 2, Reordered: 1, Answered: 5}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Channel{}, "P50", "P99", "Max", "RepeatAge")); diff != "" {
		t.Errorf("figures (-want +got):\n%s", diff)
	}
	if got.RepeatAge != 20*time.Millisecond {
		t.Errorf("oldest repeated reply was delivered %s before its kill, want 20ms (chat 1's answer to m1 at 110, the kill at 130)", got.RepeatAge)
	}
	if got.Max != 120*time.Millisecond {
		t.Errorf("slowest first reply %s, want 120ms (chat 2's m1)", got.Max)
	}

	// VK drops a repeat with a random_id it has seen: not a duplicate.
	vk := analyseChannel(msgs[:1], []delivery{
		{chat: 1, text: "hello", key: "7", at: at(100)},
		{chat: 1, text: "hello", key: "7", at: at(140)},
	}, []time.Time{at(130)}, true)
	if vk.Duplicates != 0 || vk.Dropped != 1 {
		t.Errorf("vk: duplicates %d, dropped %d; want 0 and 1", vk.Duplicates, vk.Dropped)
	}
}
