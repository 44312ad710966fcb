package crashserve

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is what the customers of one run saw.
type Report struct {
	Kills     int
	Telegram  Channel
	VK        Channel
	Duration  time.Duration // from the first message to the last reply
	FloodSent int           // messages from the flooding chat
	StopTook  time.Duration // from SIGTERM to the server's exit at the end
	// SettleCut says the wait for the last replies ended while they were
	// still coming: "lost" then includes replies the server had not sent yet.
	SettleCut bool
}

// Channel is one channel's figures.
type Channel struct {
	Messages   int // messages the customers sent
	Acked      int // of them acknowledged to the fake
	Lost       int // acknowledged, and no reply ever came: must be 0
	Unanswered int // not acknowledged and not answered (sent as the run ended)
	Replies    int // replies received, repeats included
	// Duplicates counts replies a customer got more than once (each
	// repeat once). MaxPerChatKill is the most repeats one chat got from
	// one kill (a repeat belongs to the last kill before it).
	Duplicates     int
	MaxPerChatKill int
	// RepeatAge is the longest time from a repeated reply's first delivery
	// to the kill that repeated it: how long a delivered reply stayed in
	// the outbox.
	RepeatAge time.Duration
	// Dropped counts repeats with a random_id already seen: VK drops them,
	// the customer does not see them (VK only).
	Dropped int
	// Reordered counts replies that arrived after a reply to a later
	// message of the same chat.
	Reordered int
	// FirstReply is the latency from a message to the first reply that
	// answers it, without the flooding chat's: p50, p99, max, and how many.
	P50, P99, Max time.Duration
	Answered      int
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kills: %d, run: %s, stopped %s after SIGTERM", r.Kills, r.Duration.Round(time.Second), r.StopTook.Round(time.Millisecond))
	if r.FloodSent > 0 {
		fmt.Fprintf(&b, ", flooding chat sent %d", r.FloodSent)
	}
	if r.SettleCut {
		b.WriteString(" (the wait for the last replies was cut off while they were still coming: lost counts unsent ones too)")
	}
	b.WriteByte('\n')
	for _, c := range []struct {
		name string
		ch   Channel
	}{{"telegram", r.Telegram}, {"vk", r.VK}} {
		ch := c.ch
		perKill := 0.0
		if r.Kills > 0 {
			perKill = float64(ch.Duplicates) / float64(r.Kills)
		}
		fmt.Fprintf(&b, "%-8s messages %d, acknowledged %d, acknowledged-lost %d, unanswered %d; replies %d, duplicates %d (%.2f per kill, at most %d for one chat at one kill, first copy at most %s before the kill)",
			c.name, ch.Messages, ch.Acked, ch.Lost, ch.Unanswered, ch.Replies, ch.Duplicates, perKill, ch.MaxPerChatKill, ch.RepeatAge.Round(time.Millisecond))
		if c.name == "vk" {
			fmt.Fprintf(&b, ", repeats VK dropped by random_id %d", ch.Dropped)
		}
		fmt.Fprintf(&b, ", reordered %d; first reply p50 %s p99 %s max %s (n=%d)\n", ch.Reordered,
			ch.P50.Round(time.Millisecond), ch.P99.Round(time.Millisecond), ch.Max.Round(time.Millisecond), ch.Answered)
	}
	return b.String()
}

// echoed finds the message a reply answers: "echo m<seq>" anywhere in it
// (a joined reply carries the question after it), or the greeting, which
// answers a chat's first message. ok is false for a reply that answers
// none by itself ("say something" sent alone).
var echoed = regexp.MustCompile(`(?:^|\n)echo m([0-9]+)(?:\n|$)`)

func answers(text string) (seq int, ok bool) {
	if m := echoed.FindStringSubmatch(text); m != nil {
		n, err := strconv.Atoi(m[1])
		return n, err == nil
	}
	if text == "hello" || strings.HasPrefix(text, "hello\n") {
		return 0, true
	}
	return 0, false
}

type replyID struct {
	chat int64
	seq  int
	text string
}

type chatSeq struct {
	chat int64
	seq  int
}

func analyse(tgLog, vkLog *log, kills []time.Time) Report {
	r := Report{Kills: len(kills)}
	var first, last time.Time
	for i, l := range []*log{tgLog, vkLog} {
		msgs, sent := l.snapshot()
		ch := analyseChannel(msgs, sent, kills, i == 1)
		if i == 0 {
			r.Telegram = ch
		} else {
			r.VK = ch
		}
		for _, m := range msgs {
			if m.chat == floodChat {
				r.FloodSent++
			}
			if first.IsZero() || m.at.Before(first) {
				first = m.at
			}
		}
		for _, d := range sent {
			if d.at.After(last) {
				last = d.at
			}
		}
	}
	if !first.IsZero() && last.After(first) {
		r.Duration = last.Sub(first)
	}
	return r
}

// analyseChannel computes one channel's figures; dedupeKeys says the
// platform drops a repeated random_id (VK).
func analyseChannel(msgs []message, sent []delivery, kills []time.Time, dedupeKeys bool) Channel {
	c := Channel{Messages: len(msgs), Replies: len(sent)}
	firstAt := map[chatSeq]time.Time{}
	seen := map[replyID]int{}
	firstSent := map[replyID]time.Time{}
	cur := map[int64]int{}
	keys := map[string]bool{}
	lastSeq := map[int64]int{}
	perChatKill := map[[2]int64]int{}
	for _, d := range sent {
		if dedupeKeys && d.key != "" {
			k := strconv.FormatInt(d.chat, 10) + "/" + d.key
			if keys[k] {
				c.Dropped++
				continue
			}
			keys[k] = true
		}
		// A reply is known by its chat, the message it follows (the last
		// one answered before it) and its text, so a repeated "say
		// something" counts as well as a repeated answer.
		seq, ok := answers(d.text)
		if ok {
			cur[d.chat] = seq
		} else {
			seq = cur[d.chat]
		}
		rid := replyID{d.chat, seq, d.text}
		seen[rid]++
		if seen[rid] > 1 {
			c.Duplicates++
			kill := int64(killBefore(kills, d.at))
			if kill > 0 {
				c.RepeatAge = max(c.RepeatAge, kills[kill-1].Sub(firstSent[rid]))
			}
			perChatKill[[2]int64{kill, d.chat}]++
			c.MaxPerChatKill = max(c.MaxPerChatKill, perChatKill[[2]int64{kill, d.chat}])
			continue
		}
		firstSent[rid] = d.at
		if !ok {
			continue
		}
		id := chatSeq{d.chat, seq}
		firstAt[id] = d.at
		if prev, ok := lastSeq[d.chat]; ok && seq < prev {
			c.Reordered++
		} else {
			lastSeq[d.chat] = seq
		}
	}
	var lat []time.Duration
	for _, m := range msgs {
		if m.chat == floodChat {
			continue // the runtime's flood guard leaves most of it unanswered, by design
		}
		id := chatSeq{m.chat, m.seq}
		at, answered := firstAt[id]
		if !m.acked.IsZero() {
			c.Acked++
		}
		switch {
		case !answered && !m.acked.IsZero():
			c.Lost++
		case !answered:
			c.Unanswered++
		default:
			lat = append(lat, at.Sub(m.at))
		}
	}
	slices.Sort(lat)
	c.Answered = len(lat)
	if n := len(lat); n > 0 {
		c.P50, c.P99, c.Max = lat[n/2], lat[min(n-1, n*99/100)], lat[n-1]
	}
	return c
}

// killBefore returns the number of the last kill at or before t (1-based), 0
// for none.
func killBefore(kills []time.Time, t time.Time) int {
	n := 0
	for i, k := range kills {
		if !k.After(t) {
			n = i + 1
		}
	}
	return n
}

// allAnswered reports whether every message has a reply.
func allAnswered(msgs []message, sent []delivery) bool {
	got := map[chatSeq]bool{}
	for _, d := range sent {
		if seq, ok := answers(d.text); ok {
			got[chatSeq{d.chat, seq}] = true
		}
	}
	for _, m := range msgs {
		if m.chat != floodChat && !got[chatSeq{m.chat, m.seq}] {
			return false
		}
	}
	return true
}
