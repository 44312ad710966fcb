package vk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// Event types we act on. Every other type is acknowledged and ignored.
const (
	typeConfirmation = "confirmation"
	typeMessageNew   = "message_new"
	typeMessageEvent = "message_event"
)

// envelope is one Callback API request body or one Bots Long Poll update
// (https://dev.vk.com/ru/api/callback/getting-started,
// https://dev.vk.com/ru/api/bots-long-poll/getting-started).
type envelope struct {
	Type    string          `json:"type"`
	GroupID int64           `json:"group_id"`
	EventID string          `json:"event_id"`
	Secret  string          `json:"secret"`
	V       string          `json:"v"`
	Object  json.RawMessage `json:"object"`
}

// messageNewObject is the object of message_new since API 5.103.
type messageNewObject struct {
	Message    *message    `json:"message"`
	ClientInfo *clientInfo `json:"client_info"`
}

type message struct {
	ID                    int64           `json:"id"`
	Date                  int64           `json:"date"`
	PeerID                int64           `json:"peer_id"`
	FromID                int64           `json:"from_id"`
	Text                  string          `json:"text"`
	Payload               json.RawMessage `json:"payload"`
	Ref                   string          `json:"ref"`
	ConversationMessageID int64           `json:"conversation_message_id"`
	Attachments           []attachment    `json:"attachments"`
}

type clientInfo struct {
	ButtonActions  []string `json:"button_actions"`
	Keyboard       bool     `json:"keyboard"`
	InlineKeyboard bool     `json:"inline_keyboard"`
	LangID         int      `json:"lang_id"`
}

// messageEventObject is the object of message_event: a callback button was
// pressed (https://dev.vk.com/ru/api/bots/development/keyboard#Callback-кнопки).
type messageEventObject struct {
	UserID                int64           `json:"user_id"`
	PeerID                int64           `json:"peer_id"`
	EventID               string          `json:"event_id"`
	Payload               json.RawMessage `json:"payload"`
	ConversationMessageID int64           `json:"conversation_message_id"`
}

type photoSize struct {
	URL    string `json:"url"`
	Src    string `json:"src"` // before API 5.x "url" was "src"
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

type attachment struct {
	Type  string `json:"type"`
	Photo *struct {
		Sizes []photoSize `json:"sizes"`
	} `json:"photo"`
	Doc *struct {
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"doc"`
	AudioMessage *struct {
		LinkOGG string `json:"link_ogg"`
		LinkMP3 string `json:"link_mp3"`
	} `json:"audio_message"`
	Audio *struct {
		Artist string `json:"artist"`
		Title  string `json:"title"`
		URL    string `json:"url"`
	} `json:"audio"`
	Sticker *struct {
		Images []photoSize `json:"images"`
	} `json:"sticker"`
	Link *struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	} `json:"link"`
	Video *struct {
		ID      int64  `json:"id"`
		OwnerID int64  `json:"owner_id"`
		Title   string `json:"title"`
	} `json:"video"`
}

// decoded is what one envelope means for the adapter.
type decoded struct {
	in     channel.Inbound
	caps   *clientCaps  // message_new: what the customer's client can show
	answer *eventAnswer // message_event: must be answered after recording
}

// eventAnswer identifies a callback button press for
// messages.sendMessageEventAnswer.
type eventAnswer struct {
	EventID string
	UserID  int64
	PeerID  int64
}

// errIgnored says the envelope is a valid event that Parley does not act on.
var errIgnored = errors.New("event type not handled")

// parseEnvelope decodes a Callback API body or a Long Poll update.
func parseEnvelope(body []byte) (envelope, error) {
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		return ev, fmt.Errorf("vk: event is not a JSON object: %w", err)
	}
	if ev.Type == "" {
		return ev, errors.New(`vk: event has no "type"`)
	}
	return ev, nil
}

// decodeEvent turns message_new and message_event into an Inbound. Other
// types return errIgnored; a known type with a broken object returns an
// error naming the field.
func decodeEvent(ev envelope, now time.Time) (decoded, error) {
	switch ev.Type {
	case typeMessageNew:
		return decodeMessageNew(ev, now)
	case typeMessageEvent:
		return decodeMessageEvent(ev, now)
	}
	return decoded{}, errIgnored
}

func decodeMessageNew(ev envelope, now time.Time) (decoded, error) {
	if len(ev.Object) == 0 || bytes.Equal(ev.Object, []byte("null")) {
		return decoded{}, errors.New(`vk: message_new: no "object"`)
	}
	var obj messageNewObject
	if err := json.Unmarshal(ev.Object, &obj); err != nil {
		return decoded{}, fmt.Errorf("vk: message_new: object: %w", err)
	}
	if obj.Message == nil {
		// API versions before 5.103 put the message itself in "object".
		var m message
		if err := json.Unmarshal(ev.Object, &m); err != nil {
			return decoded{}, fmt.Errorf("vk: message_new: object: %w", err)
		}
		obj.Message = &m
	}
	m := obj.Message
	if m.PeerID == 0 {
		return decoded{}, errors.New("vk: message_new: object.message.peer_id is missing")
	}
	id := eventID(ev.EventID)
	if id == "" {
		// Without event_id (old API versions) the pair peer +
		// conversation_message_id is still unique and stable on redelivery.
		switch {
		case m.ConversationMessageID != 0:
			id = "vk:msg:" + strconv.FormatInt(m.PeerID, 10) + "_" + strconv.FormatInt(m.ConversationMessageID, 10)
		case m.ID != 0:
			id = "vk:id:" + strconv.FormatInt(m.ID, 10)
		default:
			return decoded{}, errors.New("vk: message_new: no event_id, conversation_message_id or id to deduplicate on")
		}
	}
	in := channel.Inbound{
		From:        channel.Address{Channel: channel.VK, ID: strconv.FormatInt(m.PeerID, 10)},
		EventID:     id,
		Text:        m.Text,
		Ref:         m.Ref,
		Attachments: attachments(m.Attachments),
		At:          now,
	}
	if m.Date > 0 {
		in.At = time.Unix(m.Date, 0).UTC()
	}
	payload, start := decodePayload(m.Payload)
	in.Payload = payload
	if start {
		// VK's own "Start" button: the flows know this as /start.
		in.Text, in.Payload = "/start", ""
	}
	d := decoded{in: in}
	if ci := obj.ClientInfo; ci != nil {
		d.in.Lang = langCode(ci.LangID)
		c := clientCaps{known: true, inline: ci.InlineKeyboard}
		for _, a := range ci.ButtonActions {
			if a == "callback" {
				c.callback = true
			}
		}
		d.caps = &c
	}
	return d, nil
}

func decodeMessageEvent(ev envelope, now time.Time) (decoded, error) {
	if len(ev.Object) == 0 || bytes.Equal(ev.Object, []byte("null")) {
		return decoded{}, errors.New(`vk: message_event: no "object"`)
	}
	var obj messageEventObject
	if err := json.Unmarshal(ev.Object, &obj); err != nil {
		return decoded{}, fmt.Errorf("vk: message_event: object: %w", err)
	}
	if obj.PeerID == 0 {
		return decoded{}, errors.New("vk: message_event: object.peer_id is missing")
	}
	id := eventID(ev.EventID)
	if id == "" {
		if obj.EventID == "" {
			return decoded{}, errors.New("vk: message_event: no event_id to deduplicate on")
		}
		id = "vk:btn:" + obj.EventID
	}
	payload, start := decodePayload(obj.Payload)
	in := channel.Inbound{
		From:    channel.Address{Channel: channel.VK, ID: strconv.FormatInt(obj.PeerID, 10)},
		EventID: id,
		Payload: payload,
		At:      now,
	}
	if start {
		in.Text, in.Payload = "/start", ""
	}
	d := decoded{in: in}
	if obj.EventID != "" && obj.UserID != 0 {
		d.answer = &eventAnswer{EventID: obj.EventID, UserID: obj.UserID, PeerID: obj.PeerID}
	}
	return d, nil
}

func eventID(s string) string {
	if s == "" {
		return ""
	}
	return "vk:" + s
}

// decodePayload reads a button payload. Text buttons deliver it as a JSON
// string holding JSON; callback buttons as a JSON object. Our buttons carry
// {"v":"<value>"}; VK's Start button carries {"command":"start"}; any other
// payload (a keyboard someone else made) is passed on as compact JSON so the
// flow can still match it.
func decodePayload(raw json.RawMessage) (value string, start bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		inner := bytes.TrimSpace([]byte(s))
		if len(inner) == 0 || inner[0] != '{' {
			return s, false
		}
		raw = inner
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return compact(raw), false
	}
	if v, ok := obj["v"]; ok {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, false
		}
	}
	if c, ok := obj["command"]; ok && len(obj) == 1 {
		var s string
		if json.Unmarshal(c, &s) == nil && s == "start" {
			return "", true
		}
	}
	return compact(raw), false
}

func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// langCode maps client_info.lang_id
// (https://dev.vk.com/ru/reference/objects/lang) to a language code.
func langCode(id int) string {
	switch id {
	case 0:
		return "ru"
	case 1:
		return "uk"
	case 2:
		return "be"
	case 3:
		return "en"
	case 4:
		return "es"
	case 5:
		return "fi"
	case 6:
		return "de"
	case 7:
		return "it"
	}
	return ""
}

// attachments keeps a reference per attachment: its kind and the best URL
// VK gives for it (the largest photo size, a document's link, ...).
func attachments(in []attachment) []channel.Attachment {
	if len(in) == 0 {
		return nil
	}
	out := make([]channel.Attachment, 0, len(in))
	for _, a := range in {
		if a.Type == "" {
			continue
		}
		at := channel.Attachment{Kind: a.Type}
		switch {
		case a.Photo != nil:
			at.Kind = "photo"
			at.URL = largest(a.Photo.Sizes)
		case a.Doc != nil:
			at.Kind = "document"
			at.URL, at.Name = a.Doc.URL, a.Doc.Title
		case a.AudioMessage != nil:
			at.Kind = "voice"
			at.URL = a.AudioMessage.LinkOGG
			if at.URL == "" {
				at.URL = a.AudioMessage.LinkMP3
			}
		case a.Audio != nil:
			at.Kind = "audio"
			at.URL = a.Audio.URL
			at.Name = a.Audio.Artist + " — " + a.Audio.Title
		case a.Sticker != nil:
			at.Kind = "sticker"
			at.URL = largest(a.Sticker.Images)
		case a.Link != nil:
			at.Kind = "link"
			at.URL, at.Name = a.Link.URL, a.Link.Title
		case a.Video != nil:
			at.Kind = "video"
			at.URL = fmt.Sprintf("https://vk.com/video%d_%d", a.Video.OwnerID, a.Video.ID)
			at.Name = a.Video.Title
		}
		out = append(out, at)
	}
	return out
}

func largest(sizes []photoSize) string {
	best, area := "", -1
	for _, s := range sizes {
		u := s.URL
		if u == "" {
			u = s.Src
		}
		if u != "" && s.Width*s.Height > area {
			best, area = u, s.Width*s.Height
		}
	}
	return best
}
