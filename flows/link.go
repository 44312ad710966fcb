package flows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/flows/eval"
	"github.com/parley-chat/parley/flows/syntax"
)

// A link node offers the customer a one-time code that joins this
// conversation with their other channel (docs/contacts.md). The engine is
// pure and cannot make or store a code: it outputs a LinkCode with the
// node's text, the runtime issues the code, fills the text's slots and
// sends it in the same turn, and the flow has already gone on at next.

// Slots of a link text, filled by the runtime.
const (
	SlotCode    = "code"    // the code, such as 7KQM-4T9X
	SlotMinutes = "minutes" // how long it is valid, in whole minutes: "10"
	SlotExpires = "expires" // when it expires, "15:04" in the project's time zone
)

var linkSlots = []string{SlotCode, SlotMinutes, SlotExpires}

// linkSlotHint explains a slot used outside a link node's text.
const linkSlotHint = "{{ %s }} is filled only in a link node's text"

// LinkRequest is what a LinkCode output asks of the runtime.
type LinkRequest struct {
	// Text is the message in the conversation's language: literal text
	// and slots, in order. Slots are kept apart from the text so that a
	// variable whose value looks like "{{ code }}" is never filled.
	Text []TextPart `json:"text"`
	// Lang is the conversation's language, for what the runtime adds
	// (deep links into the other channels).
	Lang string `json:"lang,omitempty"`
	// Zone is the project's time zone (an IANA name) for {{ expires }}.
	Zone string `json:"zone,omitempty"`
}

// TextPart is literal text or, when Slot is set, a place for a value.
type TextPart struct {
	Text string `json:"text,omitempty"`
	Slot string `json:"slot,omitempty"`
}

// Fill returns the text with the slots filled: the code, the lifetime ttl
// in whole minutes (at least 1) and the expiry time in the request's zone.
func (l *LinkRequest) Fill(code string, ttl time.Duration, expiresAt time.Time) string {
	loc := time.UTC
	if l.Zone != "" {
		if z, err := time.LoadLocation(l.Zone); err == nil {
			loc = z
		}
	}
	var b strings.Builder
	for _, p := range l.Text {
		switch p.Slot {
		case "":
			b.WriteString(p.Text)
		case SlotCode:
			b.WriteString(code)
		case SlotMinutes:
			b.WriteString(strconv.Itoa(max(int(ttl.Round(time.Minute)/time.Minute), 1)))
		case SlotExpires:
			b.WriteString(expiresAt.In(loc).Format("15:04"))
		}
	}
	return b.String()
}

// Template is the text with its slots written as {{ name }}, for showing
// a request where no code is issued (transcripts, logs).
func (l *LinkRequest) Template() string {
	var b strings.Builder
	for _, p := range l.Text {
		if p.Slot != "" {
			b.WriteString("{{ " + p.Slot + " }}")
			continue
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// defaultLinkText is a link node's text when it has none, and the
// runtime's answer to the built-in /link command.
var defaultLinkText = map[string]string{
	"ru": "Ваш код для связи: {{ code }}\nОтправьте его нам из другого канала (Telegram, VK или чат на сайте) в течение {{ minutes }} мин. — и мы объединим переписку. Никому не сообщайте этот код.",
	"en": "Your link code: {{ code }}\nSend it to us from your other channel (Telegram, VK or the chat on the website) within {{ minutes }} min, and we will join the two conversations. Do not share this code with anyone.",
}

// DefaultLinkRequest is the built-in link code message in lang: Russian
// for "ru", English otherwise.
func DefaultLinkRequest(lang string) *LinkRequest {
	if lang != "ru" {
		lang = "en"
	}
	return &LinkRequest{Text: slotted(defaultLinkText[lang]), Lang: lang}
}

// slotted splits one of our own texts at its {{ slot }} holes.
func slotted(s string) []TextPart {
	var out []TextPart
	for {
		i := strings.Index(s, "{{")
		j := strings.Index(s, "}}")
		if i < 0 || j < i {
			if s != "" {
				out = append(out, TextPart{Text: s})
			}
			return out
		}
		if i > 0 {
			out = append(out, TextPart{Text: s[:i]})
		}
		out = append(out, TextPart{Slot: strings.TrimSpace(s[i+2 : j])})
		s = s[j+2:]
	}
}

// linkText compiles a link node's text: every language must show the code.
func (c *compiler) linkText(t *syntax.Text) *text {
	out := c.textLimit(t, MaxTextLen, linkSlots...)
	check := func(tm *eval.Template, s *syntax.Str, path string) {
		// A template that did not compile has its error already.
		if tm != nil && !slices.Contains(tm.Slots, SlotCode) {
			c.errorf(s.Pos, path, "a link text must show the code: add {{ code }}")
		}
	}
	if t.Any != nil {
		check(out.any, t.Any, t.Path)
	}
	for _, l := range keys(t.Langs) {
		check(out.langs[l], t.Langs[l], t.Path+"."+l)
	}
	return out
}

// offerLink outputs a link node's request in the conversation's language.
func (t *turn) offerLink(n *node) {
	lang := t.st.Lang
	if lang == "" {
		lang = t.e.p.DefaultLang
	}
	req := DefaultLinkRequest(lang)
	if n.linkText != nil {
		req = &LinkRequest{Lang: lang}
		tm := n.linkText.any
		if n.linkText.langs != nil {
			if tm = n.linkText.langs[t.st.Lang]; tm == nil {
				tm = n.linkText.langs[t.e.p.DefaultLang]
			}
		}
		if tm != nil {
			t.need(tm.Uses)
			segs, err := tm.Segments(t.vm, &t.env)
			if err != nil {
				t.errorEvent(n, "template", err)
			}
			req.Text = make([]TextPart, len(segs))
			for i, s := range segs {
				req.Text[i] = TextPart{Text: s.Text, Slot: s.Slot}
			}
		}
	}
	req.Zone = t.e.p.loc.String()
	// A "2" after the code message does not press an earlier menu's button.
	t.st.Buttons = nil
	t.out = append(t.out, Output{Kind: LinkCode, Link: req})
}
