package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/parley-chat/parley/bot/channel"
)

// decoded is one update after decoding: either an Inbound for the runtime, or
// a reason it is acknowledged without being handled.
type decoded struct {
	UpdateID int
	In       channel.Inbound
	// CallbackID is set for a button press; it is answered once the event
	// is recorded so the button stops spinning.
	CallbackID string
	// Ignore says why the update is acknowledged unhandled ("" = handle it).
	Ignore string
}

// errNoUpdateID marks a body that is JSON but not an update: no positive
// update_id.
var errNoUpdateID = errors.New("no update_id")

// decodeUpdate turns one raw Bot API update into a decoded event. An error
// means the bytes are not an update at all (malformed JSON, no update_id).
// An update that is valid JSON but does not fit the library's types (old or
// future field shapes) is not an error: it is ignored with the reason, so one
// odd update never blocks the poll offset.
func decodeUpdate(raw []byte) (decoded, error) {
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err == nil {
		if u.UpdateID <= 0 {
			// Telegram numbers updates from a positive number up.
			return decoded{}, fmt.Errorf("malformed update: %w", errNoUpdateID)
		}
		return fromUpdate(u), nil
	} else if !isTypeError(err) {
		return decoded{}, fmt.Errorf("malformed update: %w", err)
	} else {
		// Valid JSON of another shape: salvage the update_id so the update
		// can be acknowledged. The json error names the field and the
		// type, never the value.
		var head struct {
			UpdateID int `json:"update_id"`
		}
		if json.Unmarshal(raw, &head) != nil || head.UpdateID <= 0 {
			return decoded{}, fmt.Errorf("malformed update: %w", err)
		}
		return decoded{UpdateID: head.UpdateID, Ignore: "undecodable: " + err.Error()}, nil
	}
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// fromUpdate maps the update kinds Parley handles; the others are ignored.
func fromUpdate(u tgbotapi.Update) decoded {
	d := decoded{UpdateID: u.UpdateID}
	switch {
	case u.Message != nil:
		d.In, d.Ignore = fromMessage(u.Message)
	case u.CallbackQuery != nil:
		d.In, d.CallbackID, d.Ignore = fromCallback(u.CallbackQuery)
	case u.EditedMessage != nil:
		// Parley answers what was said; a later edit does not re-run a turn.
		d.Ignore = "edited message"
	default:
		d.Ignore = "update kind not handled"
	}
	if d.Ignore == "" {
		d.In.EventID = eventID(u.UpdateID)
	}
	return d
}

// eventID is stable across redeliveries: Telegram resends an update with the
// same update_id until it is confirmed.
func eventID(updateID int) string { return "tg:" + strconv.Itoa(updateID) }

func fromMessage(m *tgbotapi.Message) (channel.Inbound, string) {
	if m.Chat == nil {
		return channel.Inbound{}, "message without chat"
	}
	if m.Chat.ID == 0 {
		// No chat has id 0: a reply could never be sent, so no contact is
		// made for it.
		return channel.Inbound{}, "chat id 0"
	}
	if m.From != nil && m.From.IsBot {
		return channel.Inbound{}, "message from a bot"
	}
	in := channel.Inbound{
		From:        address(m.Chat.ID),
		Text:        m.Text,
		Attachments: attachments(m),
		At:          unixTime(m.Date),
	}
	if in.Text == "" {
		in.Text = m.Caption
	}
	if m.From != nil {
		in.Name = displayName(m.From)
		in.Lang = language(m.From.LanguageCode)
		in.Profile = profile(m.From)
	} else {
		in.Name = strings.TrimSpace(m.Chat.FirstName + " " + m.Chat.LastName)
	}
	if cmd, ref, ok := startCommand(in.Text); ok {
		in.Text, in.Ref = cmd, ref
	}
	if in.Text == "" && len(in.Attachments) == 0 {
		// Service messages: members joined, pinned message, chat photo, ...
		return channel.Inbound{}, "service message"
	}
	return in, ""
}

func fromCallback(q *tgbotapi.CallbackQuery) (channel.Inbound, string, string) {
	if q.From == nil {
		return channel.Inbound{}, "", "callback without sender"
	}
	in := channel.Inbound{
		Payload: q.Data,
		Name:    displayName(q.From),
		Profile: profile(q.From),
		Lang:    language(q.From.LanguageCode),
		// At stays zero: callback queries carry no date; the adapter
		// stamps the time of receipt.
	}
	if q.Message != nil && q.Message.Chat != nil {
		if q.Message.Chat.ID == 0 {
			return channel.Inbound{}, q.ID, "chat id 0"
		}
		in.From = address(q.Message.Chat.ID)
		in.Text = buttonLabel(q.Message.ReplyMarkup, q.Data)
	} else {
		// A button under an inline-mode message has no chat; the presser's
		// private chat with the bot has the user's id.
		if q.From.ID == 0 {
			return channel.Inbound{}, q.ID, "chat id 0"
		}
		in.From = address(q.From.ID)
	}
	if q.Data == "" {
		// Game buttons carry game_short_name, not data.
		return channel.Inbound{}, q.ID, "callback without data"
	}
	return in, q.ID, ""
}

// buttonLabel finds the label of the pressed button in the keyboard of the
// message it was under.
func buttonLabel(kb *tgbotapi.InlineKeyboardMarkup, data string) string {
	if kb == nil {
		return ""
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != nil && *b.CallbackData == data {
				return b.Text
			}
		}
	}
	return ""
}

func address(chatID int64) channel.Address {
	return channel.Address{Channel: channel.Telegram, ID: strconv.FormatInt(chatID, 10)}
}

func displayName(u *tgbotapi.User) string {
	if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
		return name
	}
	return u.UserName
}

// profile is what the agent's card shows of a Telegram user: the name
// and the @username (a t.me link), when there is one.
func profile(u *tgbotapi.User) map[string]string {
	p := map[string]string{}
	if name := strings.TrimSpace(u.FirstName + " " + u.LastName); name != "" {
		p["name"] = name
	}
	if u.UserName != "" {
		p["username"] = u.UserName
	}
	return p
}

// language reduces an IETF tag ("ru", "en-US", "pt-br") to its primary
// language subtag, lower case; anything else becomes "".
func language(code string) string {
	primary, _, _ := strings.Cut(code, "-")
	primary = strings.ToLower(primary)
	if len(primary) < 2 || len(primary) > 3 {
		return ""
	}
	for _, r := range primary {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return primary
}

func unixTime(sec int) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0).UTC()
}

// startCommand splits a deep link "/start <ref>" (also "/start@MyBot <ref>"
// in groups) into the command and its parameter.
// https://core.telegram.org/bots/features#deep-linking
func startCommand(text string) (cmd, ref string, ok bool) {
	first, rest, _ := strings.Cut(text, " ")
	name, _, _ := strings.Cut(first, "@")
	if name != "/start" {
		return "", "", false
	}
	return "/start", strings.TrimSpace(rest), true
}

// attachments lists the files of a message by reference (file_id); Parley
// stores references, never bytes.
func attachments(m *tgbotapi.Message) []channel.Attachment {
	var out []channel.Attachment
	add := func(kind, fileID, name string) {
		if fileID != "" {
			out = append(out, channel.Attachment{Kind: kind, URL: FileScheme + fileID, Name: name})
		}
	}
	if n := len(m.Photo); n > 0 {
		// Telegram lists the sizes of one photo, smallest first.
		add("photo", m.Photo[n-1].FileID, "")
	}
	if d := m.Document; d != nil {
		add("document", d.FileID, d.FileName)
	}
	if v := m.Voice; v != nil {
		add("voice", v.FileID, "")
	}
	if au := m.Audio; au != nil {
		name := au.Title
		if au.Performer != "" && au.Title != "" {
			name = au.Performer + " – " + au.Title
		}
		if name == "" {
			name = au.FileName
		}
		add("audio", au.FileID, name)
	}
	if s := m.Sticker; s != nil {
		add("sticker", s.FileID, s.Emoji)
	}
	if v := m.Video; v != nil {
		add("video", v.FileID, v.FileName)
	}
	if v := m.VideoNote; v != nil {
		add("video_note", v.FileID, "")
	}
	if an := m.Animation; an != nil && m.Document == nil {
		add("animation", an.FileID, an.FileName)
	}
	if l := m.Location; l != nil {
		out = append(out, channel.Attachment{Kind: "location",
			URL: fmt.Sprintf("geo:%s,%s", strconv.FormatFloat(l.Latitude, 'f', -1, 64), strconv.FormatFloat(l.Longitude, 'f', -1, 64))})
	}
	if c := m.Contact; c != nil && c.PhoneNumber != "" {
		out = append(out, channel.Attachment{Kind: "contact", URL: "tel:" + c.PhoneNumber,
			Name: strings.TrimSpace(c.FirstName + " " + c.LastName)})
	}
	return out
}
