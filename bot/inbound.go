package bot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/store"
)

// sanitizeInbound makes what a customer sent safe to store and to show, in
// the one place every channel's events pass (HandleInbound), before the
// contact is resolved: control characters (NUL, BEL, ESC, ...; tab and
// newline stay) and bidirectional embeddings, overrides and isolates
// (U+202A-U+202E, U+2066-U+2069, which can make "gpj.exe" read "exe.jpg" in
// the console) are removed from the text, the name and attachment names;
// invalid UTF-8 becomes U+FFFD. A text over maxInboundRunes is cut there
// with a visible note for the agent and the history; cut is the length it
// had (0 when it was not cut), so the turn can tell the customer.
func sanitizeInbound(in *channel.Inbound) (cut int) {
	in.Text = cleanText(in.Text)
	in.Name = cleanText(in.Name)
	in.Payload = cleanText(in.Payload)
	if len(in.Profile) > 0 {
		p := make(map[string]string, len(in.Profile)) // the adapter's map stays as it was
		for k, v := range in.Profile {
			p[cleanText(k)] = cleanText(v)
		}
		in.Profile = p
	}
	cloned := false
	for i, a := range in.Attachments {
		if name := cleanText(a.Name); name != a.Name {
			if !cloned {
				in.Attachments, cloned = slices.Clone(in.Attachments), true // the adapter's stay as they were
			}
			in.Attachments[i].Name = name
		}
	}
	if n := utf8.RuneCountInString(in.Text); n > maxInboundRunes {
		in.Text = clip(in.Text, maxInboundRunes) + fmt.Sprintf(cutNote, n, maxInboundRunes)
		return n
	}
	return 0
}

// cutNote ends a cut message in the history: the agent sees that the
// customer wrote more. It starts after maxInboundRunes runes, past what
// the flow engine reads of a message (4,096), so flows never see it.
const cutNote = "\n[… cut by Parley: the message had %d characters, the first %d are kept]"

// unsafeRune reports a rune sanitizeInbound removes.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f): // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // bidi embeddings, overrides, isolates
		return true
	}
	return false
}

// cleanText returns s without unsafe runes; s itself (no allocation) when
// it has none, the common case.
func cleanText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || c < 0x20 && c != '\n' && c != '\t' {
			ascii = false
			break
		}
	}
	if ascii || utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if !unsafeRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// noteCut tells the customer, in the conversation's language, that only
// the start of a long message was read, and records a message_cut event
// with the length it had.
func (r *Runtime) noteCut(ts *turnState, item inboxItem, st flows.State, c store.Contact) {
	if item.Cut == 0 {
		return
	}
	r.event(ts, "message_cut", map[string]string{"channel": string(ts.addr.Channel),
		"runes": strconv.Itoa(item.Cut), "kept": strconv.Itoa(maxInboundRunes)})
	if item.Flooded {
		return
	}
	text := fmt.Sprintf("Сообщение очень длинное: я прочитал только первые %d символов.", maxInboundRunes)
	if langOf(st, c) == "en" {
		text = fmt.Sprintf("Your message is very long: I read only its first %d characters.", maxInboundRunes)
	}
	r.say(ts, text, nil, "", "", "")
}
