package vk

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/SevereCloud/vksdk/v3/api"
	"github.com/SevereCloud/vksdk/v3/object"

	"github.com/parley-chat/parley/bot/channel"
)

// Keyboard limits (https://dev.vk.com/ru/api/bots/development/keyboard):
// labels up to 40 characters, payload up to 255 characters, at most 5
// buttons a row (we put at most 2) and 6 rows in an inline keyboard, at most 10 buttons in it.
const (
	maxLabelRunes   = 40
	maxPayloadBytes = 255
	maxInlineRows   = 6
	maxInlineTotal  = 10
)

// attachmentRe matches a VK attachment string such as "photo-1_2" or
// "doc123_456_accesskey" (https://dev.vk.com/ru/method/messages.send).
var attachmentRe = regexp.MustCompile(`^(photo|video|audio|doc|wall|market|poll|audio_message|story)-?[0-9]+_[0-9]+(_[0-9A-Za-z]+)?$`)

// Send delivers out with messages.send. It returns nil only when VK
// accepted the message. random_id is derived from out.Key, so a retry of the
// same outbox entry is deduplicated by VK and never posts twice.
func (a *Adapter) Send(ctx context.Context, out channel.Outbound) error {
	if out.To.Channel != channel.VK {
		return &channel.PermanentError{Err: fmt.Errorf("vk: send: address %s is not a VK address", out.To)}
	}
	peer, err := parsePeer(out.To.ID)
	if err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("vk: send: %w", err)}
	}
	if out.Key == "" {
		// Without a key there is no idempotency: refuse rather than risk
		// posting twice on retry.
		return &channel.PermanentError{Err: fmt.Errorf("vk: send to %s: Outbound.Key is empty; random_id needs it", out.To)}
	}
	now := a.now()
	caps := a.peers.caps(peer, now)
	msgs := render(out, caps)
	if len(out.Files) > 0 {
		// Uploaded again on a retry: harmless, the message itself is sent
		// once (random_id).
		atts, err := a.uploadFiles(ctx, peer, out.Files) // files.go
		if err != nil {
			return err
		}
		msgs = withFiles(msgs, out, atts)
	}
	if len(msgs) == 0 {
		return &channel.PermanentError{Err: fmt.Errorf("vk: send to %s: nothing to send (no text, image or buttons)", out.To)}
	}
	lim := a.peers.get(peer, now).lim
	for i, m := range msgs {
		// Part 0 uses the key itself; later parts (rare: numbered choices
		// pushing the text over 4096 characters) get their own ids.
		key := out.Key
		if i > 0 {
			key += "#" + strconv.Itoa(i)
		}
		if err := lim.Wait(ctx); err != nil {
			return fmt.Errorf("vk: send to %s: %w", out.To, err)
		}
		err := a.sendOne(ctx, peer, randomID(key), m)
		if m.keyboard != "" && isKeyboardUnsupported(err) {
			// The client cannot show this keyboard: fall back to numbered
			// choices in the text. The failed call posted nothing, so the
			// same random_id is safe.
			a.log.Info().Str("to", out.To.String()).Int("code", int(vkCode(err))).Msg("vk: keyboard refused, sending numbered choices")
			text := joinParts(m.text, numbered(out.Buttons))
			err = a.sendOne(ctx, peer, randomID(key), vkMessage{text: text, attachment: m.attachment})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isKeyboardUnsupported(err error) bool {
	c := vkCode(err)
	return c == api.ErrMessagesKeyboardInvalid || c == api.ErrMessagesChatBotFeature
}

type vkMessage struct {
	text       string
	attachment string
	keyboard   string // JSON, "" for none
}

func (a *Adapter) sendOne(ctx context.Context, peer int64, rid int32, m vkMessage) error {
	p := api.Params{
		"peer_id":   peer,
		"random_id": rid,
	}
	if m.text != "" {
		p["message"] = m.text
	}
	if m.attachment != "" {
		p["attachment"] = m.attachment
	}
	if m.keyboard != "" {
		p["keyboard"] = m.keyboard
	}
	var id json.RawMessage
	return a.call(ctx, "messages.send", p, &id)
}

// SendTyping shows "typing..." in the conversation (messages.setActivity).
func (a *Adapter) SendTyping(ctx context.Context, to channel.Address) error {
	if to.Channel != channel.VK {
		return &channel.PermanentError{Err: fmt.Errorf("vk: typing: address %s is not a VK address", to)}
	}
	peer, err := parsePeer(to.ID)
	if err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("vk: typing: %w", err)}
	}
	var ok json.RawMessage
	return a.call(ctx, "messages.setActivity", api.Params{
		"peer_id":  peer,
		"type":     "typing",
		"group_id": a.cfg.GroupID,
	}, &ok)
}

// answerEvent stops a callback button's spinner
// (messages.sendMessageEventAnswer without event_data).
func (a *Adapter) answerEvent(ctx context.Context, e eventAnswer) error {
	var ok json.RawMessage
	return a.call(ctx, "messages.sendMessageEventAnswer", api.Params{
		"event_id": e.EventID,
		"user_id":  e.UserID,
		"peer_id":  e.PeerID,
	}, &ok)
}

func parsePeer(id string) (int64, error) {
	peer, err := strconv.ParseInt(id, 10, 64)
	if err != nil || peer == 0 {
		return 0, fmt.Errorf("bad VK peer id %q: want a non-zero integer", id)
	}
	return peer, nil
}

// randomID derives messages.send's random_id from the outbox key: FNV-64a
// folded into the positive int32 range VK accepts, never 0 (0 turns VK's
// deduplication off).
func randomID(key string) int32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	s := h.Sum64()
	v := int32((s ^ s>>32) & 0x7fffffff)
	if v == 0 {
		v = 1
	}
	return v
}

// render turns an Outbound into one or more messages.send calls. Buttons
// become an inline keyboard of callback buttons (or text buttons when the
// client is known to lack callback support); when they do not fit VK's
// limits, or the client shows no inline keyboards, they become numbered
// choices appended to the text. An image that is a VK attachment string is
// attached; any other image is linked in the text.
func render(out channel.Outbound, caps clientCaps) []vkMessage {
	text := out.Text
	if out.Sender != "" && text != "" {
		text = out.Sender + ": " + text
	}
	var attachment string
	if img := strings.TrimSpace(out.Image); img != "" {
		if attachmentRe.MatchString(img) {
			attachment = img
		} else {
			text = joinParts(text, img)
		}
	}
	var keyboard string
	if len(out.Buttons) > 0 {
		if caps.known && !caps.inline {
			text = joinParts(text, numbered(out.Buttons))
		} else if kb, ok := inlineKeyboard(out.Buttons, !caps.known || caps.callback); ok {
			keyboard = kb
		} else {
			text = joinParts(text, numbered(out.Buttons))
		}
	}
	if text == "" && attachment == "" {
		if keyboard == "" {
			return nil
		}
		// VK refuses a message without text or attachment.
		text = "…"
	}
	parts := splitText(text, maxTextRunes)
	msgs := make([]vkMessage, len(parts))
	for i, p := range parts {
		msgs[i].text = p
	}
	msgs[0].attachment = attachment
	msgs[len(msgs)-1].keyboard = keyboard
	return msgs
}

// buttonPayload is what our buttons carry; it comes back in message_event
// (callback) or message_new.payload (text button).
type buttonPayload struct {
	V string `json:"v"`
}

// inlineKeyboard builds the keyboard JSON, or reports false when a label or
// payload is too long or there are too many buttons. Up to 6 buttons get a
// row each (labels up to 40 characters stay readable); 7 to 10 go two a row.
func inlineKeyboard(buttons []channel.Button, callback bool) (string, bool) {
	if len(buttons) > maxInlineTotal {
		return "", false
	}
	for _, b := range buttons {
		n := utf8.RuneCountInString(b.Text)
		if n == 0 || n > maxLabelRunes {
			return "", false
		}
		p, err := json.Marshal(buttonPayload{V: b.Value})
		if err != nil || len(p) > maxPayloadBytes {
			return "", false
		}
	}
	perRow := 1
	if len(buttons) > maxInlineRows {
		perRow = 2
	}
	kb := object.NewMessagesKeyboardInline()
	for i, b := range buttons {
		if i%perRow == 0 {
			kb.AddRow() // the builder panics without a row
		}
		if callback {
			kb.AddCallbackButton(b.Text, buttonPayload{V: b.Value}, object.Secondary)
		} else {
			kb.AddTextButton(b.Text, buttonPayload{V: b.Value}, object.Secondary)
		}
	}
	if len(kb.Buttons) > maxInlineRows {
		return "", false
	}
	return kb.ToJSON(), true
}

// numbered renders buttons as "1. Label" lines; the flow engine takes a
// digit answer as the Nth button.
func numbered(buttons []channel.Button) string {
	var b strings.Builder
	for i, btn := range buttons {
		if i > 0 {
			b.WriteByte('\n')
		}
		label := btn.Text
		if label == "" {
			label = btn.Value
		}
		fmt.Fprintf(&b, "%d. %s", i+1, label)
	}
	return b.String()
}

func joinParts(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}

// splitText cuts s into pieces of at most max runes, preferring a line
// break, then a space. The runtime already splits long texts; this only
// catches what rendering appended (choices, an image link).
func splitText(s string, max int) []string {
	var parts []string
	for utf8.RuneCountInString(s) > max {
		cut := byteIndexOfRune(s, max)
		head := s[:cut]
		if i := strings.LastIndexByte(head, '\n'); i > cut/2 {
			cut = i
		} else if i := strings.LastIndexByte(head, ' '); i > cut/2 {
			cut = i
		}
		parts = append(parts, strings.TrimRight(s[:cut], " \n"))
		s = strings.TrimLeft(s[cut:], " \n")
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

func byteIndexOfRune(s string, n int) int {
	i := 0
	for j := range s {
		if i == n {
			return j
		}
		i++
	}
	return len(s)
}
