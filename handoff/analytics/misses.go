package analytics

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/parley-chat/parley/store"
)

// The misses inbox: the customer messages the bot did not understand, or
// answered and was then corrected or escalated, grouped by similar text so
// a lead sees which questions to teach it first (docs/analytics.md).

// Why a message is a miss.
const (
	MissNotUnderstood = "not_understood" // understood kind none, or a fallback at it
	MissOutOfScope    = "out_of_scope"   // the classifier placed it out of scope
	MissDidYouMeanNo  = "did_you_mean_no"
	MissCorrected     = "corrected" // answered from the FAQ, and the next message was not understood
	MissEscalated     = "escalated" // answered from the FAQ, and the customer was handed to a person next
)

// MissSource is what the inbox reads; *store.DB implements it. The texts
// come from the history, so forgetting a contact erases them here too.
type MissSource interface {
	Events(from, to time.Time, fn func(store.Event) error) error
	History(contactID string, afterSeq uint64, limit int) ([]store.Message, error)
}

// MissGroup is one group of similar missed messages.
type MissGroup struct {
	// Example is the latest message of the group, as the customer wrote it.
	Example string `json:"example"`
	// Texts are the group's distinct messages, latest first (at most 5).
	Texts []string  `json:"texts"`
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
	// Reasons counts the group's misses by reason; TakenFor by the FAQ
	// entry or intent the bot took them for ("" not counted).
	Reasons  map[string]int `json:"reasons"`
	TakenFor map[string]int `json:"taken_for,omitempty"`
	// Contacts are the conversations, to open from the console.
	Contacts []string `json:"contacts"`
	// Langs counts the group's misses by the conversation's language.
	Langs map[string]int `json:"langs,omitempty"`
	// Now is what the serving project makes of each of Texts (Recheck):
	// after a lead teaches the bot, which misses it now answers.
	Now    []Recheck `json:"now,omitempty"`
	tokens []string
}

// Recheck is what the current knowledge base makes of one missed text: the
// FAQ entry or intent it takes it for, how sure, whether out of scope, and
// whether sure enough to answer at once (Answered).
type Recheck struct {
	Text     string  `json:"text"`
	Kind     string  `json:"kind"` // faq, intent or none
	ID       string  `json:"id,omitempty"`
	Score    float64 `json:"score"`
	OOS      bool    `json:"oos,omitempty"`
	Answered bool    `json:"answered"`
}

// Recheck fills every group's Now by understanding its texts again with
// understand (the serving project's classifier).
func (r *MissReport) Recheck(understand func(text string) Recheck) {
	for i := range r.Groups {
		g := &r.Groups[i]
		g.Now = make([]Recheck, len(g.Texts))
		for j, t := range g.Texts {
			g.Now[j] = understand(t)
			g.Now[j].Text = t
		}
	}
}

// MissReport is the inbox over a period.
type MissReport struct {
	From   time.Time   `json:"from,omitzero"`
	To     time.Time   `json:"to,omitzero"`
	Misses int         `json:"misses"`
	Groups []MissGroup `json:"groups"`
}

// miss is one missed message.
type miss struct {
	contact, text, reason, takenFor, lang string
	at                                    time.Time
}

// ComputeMisses reads the period's events, finds the missed messages and
// groups them. A zero from or to leaves that end open.
func ComputeMisses(src MissSource, from, to time.Time) (MissReport, error) {
	if src == nil {
		return MissReport{}, errors.New("analytics: nil source")
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return MissReport{}, fmt.Errorf("analytics: period from %s to %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var events []store.Event
	err := src.Events(from, to, func(e store.Event) error {
		switch e.Type {
		case "message_in", "understood", "fallback", "handoff_requested", "did_you_mean":
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return MissReport{}, fmt.Errorf("analytics: read events: %w", err)
	}
	var msgs []store.Message
	seen := map[string]bool{}
	for _, e := range events {
		if e.Type != "understood" || seen[e.ContactID] {
			continue
		}
		seen[e.ContactID] = true
		h, err := src.History(e.ContactID, 0, 0)
		if err != nil {
			return MissReport{}, fmt.Errorf("analytics: read the history of %s: %w", e.ContactID, err)
		}
		msgs = append(msgs, h...)
	}
	rep := MissReport{From: from, To: to, Groups: Misses(events, msgs)}
	for _, g := range rep.Groups {
		rep.Misses += g.Count
	}
	return rep, nil
}

// turnRec is what one customer message's turn recorded.
type turnRec struct {
	at                   time.Time
	understood           map[string]string // nil: no typed text classified
	fallback, handedOver bool
	dymNo                string // the did_you_mean "no" entry; "-" for no entry
	text                 string
}

// Misses finds the missed messages in events (in time order, as
// store.DB.Events gives them) and groups them; messages are the contacts'
// histories, where the texts are. A turn is the events from a message_in
// to the next; its text is the customer's latest typed message received
// by then (the history's time is the channel's, the event's the server's).
func Misses(events []store.Event, messages []store.Message) []MissGroup {
	byContact := map[string][]*turnRec{}
	var order []string
	for _, e := range events {
		ts := byContact[e.ContactID]
		if e.Type == "message_in" {
			if ts == nil {
				order = append(order, e.ContactID)
			}
			byContact[e.ContactID] = append(ts, &turnRec{at: e.At})
			continue
		}
		if len(ts) == 0 {
			continue // the period began inside this turn
		}
		t := ts[len(ts)-1]
		switch e.Type {
		case "understood":
			t.understood = e.Data
		case "fallback":
			t.fallback = true
		case "handoff_requested":
			t.handedOver = true
		case "did_you_mean":
			if e.Data["answer"] == "no" {
				t.dymNo = e.Data["faq"] + e.Data["intent"]
				if t.dymNo == "" {
					t.dymNo = "-"
				}
			}
		}
	}
	texts := inboundTexts(messages)
	var all []miss
	for _, c := range order {
		ts := byContact[c]
		attachTexts(ts, texts[c])
		all = append(all, turnMisses(c, ts)...)
	}
	return groupMisses(all)
}

// inboundTexts are the customers' messages by contact, in time order
// (button presses too: each turn takes one).
func inboundTexts(messages []store.Message) map[string][]store.Message {
	out := map[string][]store.Message{}
	for _, m := range messages {
		if m.Dir == "in" && (m.Sender == "" || m.Sender == "customer") {
			out[m.ContactID] = append(out[m.ContactID], m)
		}
	}
	for _, ms := range out {
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].At.Before(ms[j].At) })
	}
	return out
}

// clockSlack is how much later than the server's clock a channel may date
// a message.
const clockSlack = 2 * time.Second

// attachTexts gives each turn that classified a message its text. A
// channel dates a message at or before the server takes it (Telegram to
// the second), and each turn takes one message: the period's first turn
// takes the latest message dated by its time, each later turn the next
// one after it (a backlog of queued messages keeps its order); a message
// dated up to clockSlack late is taken when no other is.
func attachTexts(ts []*turnRec, msgs []store.Message) {
	next := -1 // the first message a later turn may take; -1 before the first turn
	for _, t := range ts {
		k := sort.Search(len(msgs), func(i int) bool { return msgs[i].At.After(t.at) })
		switch {
		case next < 0 && k > 0:
			k-- // the latest message dated by then
		case next >= 0 && next < k:
			k = next
		case next >= 0 && next < len(msgs) && !msgs[next].At.After(t.at.Add(clockSlack)):
			k = next
		default:
			continue // no message for this turn (a button, or the text is gone)
		}
		next = k + 1
		if t.understood != nil {
			t.text = msgs[k].Text
		}
	}
}

// turnMisses applies the definitions to one contact's turns: at most one
// miss per message, the first reason that applies.
func turnMisses(contact string, ts []*turnRec) []miss {
	var out []miss
	missed := map[int]bool{}
	add := func(i int, reason string) bool {
		t := ts[i]
		if missed[i] || t.text == "" {
			return false
		}
		missed[i] = true
		taken := t.understood["faq"]
		if taken == "" {
			taken = t.understood["intent"]
		}
		out = append(out, miss{contact: contact, text: t.text, reason: reason, takenFor: taken, lang: t.understood["lang"], at: t.at})
		return true
	}
	prevTyped := -1 // the last turn whose typed message was classified
	for i, t := range ts {
		if t.dymNo != "" && prevTyped >= 0 && add(prevTyped, MissDidYouMeanNo) && t.dymNo != "-" {
			out[len(out)-1].takenFor = t.dymNo // the entry the question offered
		}
		u := t.understood
		kind := u["kind"]
		// The previous message was answered; this one, typed or a button,
		// says it was not what the customer asked. Out-of-scope text after
		// an answer is more often a new subject than a correction.
		if p := prevTyped; p >= 0 && answered(ts[p]) && !missed[p] {
			switch {
			case t.handedOver:
				add(p, MissEscalated)
			case t.fallback && t.dymNo == "" || kind == "none" && u["oos"] != "1":
				add(p, MissCorrected)
			}
		}
		if u == nil {
			prevTyped = -1 // a button: the next message follows it, not the answer
			continue
		}
		switch {
		case kind == "answer":
		case kind == "none" && !t.handedOver:
			reason := MissNotUnderstood
			if u["oos"] == "1" {
				reason = MissOutOfScope
			}
			add(i, reason)
		case t.fallback:
			add(i, MissNotUnderstood)
		}
		prevTyped = i
	}
	return out
}

// answered: the bot took the message for an FAQ entry and acted on it
// without a fallback or a handoff. An intent is left out: a greeting or
// a thank-you answered, then a new question the bot misses, corrects
// nothing.
func answered(t *turnRec) bool {
	return t.understood["kind"] == "faq" && !t.fallback && !t.handedOver
}

// similarity is the share of tokens two messages must have in common
// (Jaccard) to be one group.
const similarity = 0.6

// groupMisses groups by token set: messages in a canonical order, each
// joins the most similar group whose first message shares enough tokens,
// so the result does not depend on the order events were read in.
func groupMisses(ms []miss) []MissGroup {
	type keyed struct {
		miss
		tokens []string
		key    string
	}
	ks := make([]keyed, len(ms))
	for i, m := range ms {
		tok := missTokens(m.text)
		ks[i] = keyed{m, tok, strings.Join(tok, " ")}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		if ks[i].key != ks[j].key {
			return ks[i].key < ks[j].key
		}
		return ks[i].at.Before(ks[j].at)
	})
	var gs []*MissGroup
	for _, k := range ks {
		var best *MissGroup
		bestSim := similarity
		for _, g := range gs {
			if s := jaccard(g.tokens, k.tokens); s >= bestSim && (best == nil || s > bestSim) {
				best, bestSim = g, s
			}
		}
		if best == nil {
			best = &MissGroup{Reasons: map[string]int{}, tokens: k.tokens}
			gs = append(gs, best)
		}
		best.Count++
		best.Reasons[k.reason]++
		if k.takenFor != "" {
			if best.TakenFor == nil {
				best.TakenFor = map[string]int{}
			}
			best.TakenFor[k.takenFor]++
		}
		if k.lang != "" {
			if best.Langs == nil {
				best.Langs = map[string]int{}
			}
			best.Langs[k.lang]++
		}
		if !k.at.Before(best.Last) {
			best.Last, best.Example = k.at, k.text
		}
		if !slices.Contains(best.Contacts, k.contact) {
			best.Contacts = append(best.Contacts, k.contact)
		}
		best.Texts = append(best.Texts, k.text)
	}
	out := make([]MissGroup, len(gs))
	for i, g := range gs {
		slices.Sort(g.Contacts)
		g.Texts = distinctTexts(g.Texts, g.Example)
		out[i] = *g
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if !a.Last.Equal(b.Last) {
			return a.Last.After(b.Last)
		}
		return a.Example < b.Example
	})
	return out
}

// distinctTexts: the example first, then the others once each, at most 5.
func distinctTexts(texts []string, first string) []string {
	out := []string{first}
	for i := len(texts) - 1; i >= 0 && len(out) < 5; i-- {
		if !slices.Contains(out, texts[i]) {
			out = append(out, texts[i])
		}
	}
	return out
}

// missTokens is a message's set of words, sorted: lower case, ё as е,
// every number as "#" (order numbers differ, the question does not).
func missTokens(s string) []string {
	s = strings.ReplaceAll(strings.ToLower(s), "ё", "е")
	f := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range f {
		if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
			f[i] = "#"
		}
	}
	slices.Sort(f)
	return slices.Compact(f)
}

func jaccard(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	common, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			common++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}
