package telegram

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/parley-chat/parley/bot/channel"
)

// Bot API limits, counted in UTF-16 code units as Telegram counts them.
// https://core.telegram.org/bots/api#sendmessage, #sendphoto, #inlinekeyboardbutton
const (
	maxText         = 4096
	maxCaption      = 1024
	maxCallbackData = 64
	maxButtons      = 100 // per inline keyboard
	buttonsPerRow   = 3
)

// Send delivers one reply. It returns nil once Telegram accepted every part;
// a *channel.RetryAfterError on flood control (429 retry_after); a
// *channel.PermanentError when retrying cannot help (400 bad request, 403 the
// user blocked the bot, an address or message Telegram cannot take); any
// other error is worth retrying.
//
// A reply is one request, or more when it does not fit one: a photo whose
// caption would exceed 1024 characters goes as the photo then the text; a
// text over 4096 UTF-16 units (the runtime splits by runes, Telegram counts
// UTF-16, so emoji weigh double) is split at a paragraph, line or word; and
// numbered choices that do not fit go as a message of their own. If a later
// part fails, a retry with the same Outbound.Key resumes after the parts
// Telegram already accepted.
func (a *Adapter) Send(ctx context.Context, out channel.Outbound) error {
	chatID, err := chatOf(out.To)
	if err != nil {
		return &channel.PermanentError{Err: err}
	}
	if len(out.Files) > 0 {
		return a.sendFiles(ctx, chatID, out) // files.go
	}
	parts, err := render(chatID, out)
	if err != nil {
		return &channel.PermanentError{Err: fmt.Errorf("telegram: %s: %w", out.To, err)}
	}
	// A chat's first reply since its customer wrote goes before other
	// chats' follow-ups at the bot-wide limit.
	first := a.chats.takeFirst(chatID)
	for i := a.progress.get(out.Key); i < len(parts); i++ {
		if err := a.wait(ctx, chatID, first); err != nil {
			return err
		}
		first = false
		if _, err := a.raw(ctx, parts[i].method, parts[i].params, a.callTimeout); err != nil {
			if i > 0 {
				a.progress.set(out.Key, i)
			}
			err = classify(parts[i].method, err)
			a.log.Debug().Str("to", out.To.String()).Str("key", out.Key).Err(err).Msg("send failed")
			return err
		}
	}
	a.progress.clear(out.Key)
	return nil
}

// SendTyping shows "typing…" in the chat for about five seconds. It takes a
// slot of the bot-wide rate but not of the chat's: the reply that follows
// needs that.
func (a *Adapter) SendTyping(ctx context.Context, to channel.Address) error {
	chatID, err := chatOf(to)
	if err != nil {
		return &channel.PermanentError{Err: err}
	}
	if err := a.global.wait(ctx, false); err != nil {
		return err
	}
	_, err = a.call(ctx, tgbotapi.NewChatAction(chatID, tgbotapi.ChatTyping))
	if err != nil {
		return classify("sendChatAction", err)
	}
	return nil
}

func (a *Adapter) wait(ctx context.Context, chatID int64, first bool) error {
	if err := a.chats.get(chatID).Wait(ctx); err != nil {
		return fmt.Errorf("telegram: waiting for the chat's rate limit: %w", err)
	}
	return a.global.wait(ctx, first)
}

func chatOf(to channel.Address) (int64, error) {
	if to.Channel != channel.Telegram {
		return 0, fmt.Errorf("telegram: address %s belongs to another channel", to)
	}
	id, err := strconv.ParseInt(to.ID, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("telegram: address %s: chat id is not a number", to)
	}
	return id, nil
}

// part is one Bot API request of a reply. Params are built here, with the
// library's types for the keyboard: its configs would add "entities=null".
type part struct {
	method string
	params tgbotapi.Params
}

var errEmpty = errors.New("nothing to send: empty text and no image")

// render turns a reply into the requests that carry it. Buttons become an
// inline keyboard when every value fits callback_data; otherwise numbered
// choices ("1. Доставка") are appended, which the flow engine accepts as
// the Nth button.
func render(chatID int64, out channel.Outbound) ([]part, error) {
	text := out.Text
	if out.Sender != "" && strings.TrimSpace(text) != "" {
		// A human agent answers: say who, the way a chat shows a name.
		if signed := out.Sender + ":\n" + text; utf16Len(signed) <= maxText {
			text = signed
		}
	}
	markup, choices := keyboard(out.Buttons)
	if strings.TrimSpace(text) == "" && out.Image == "" {
		if len(out.Buttons) == 0 {
			return nil, errEmpty
		}
		return nil, errors.New("buttons without text: Telegram shows a keyboard only under a message")
	}
	// The runtime splits long texts by runes; Telegram counts UTF-16 units,
	// so a text of emoji can still be too long here: split the rest.
	texts := splitUTF16(text, maxText)
	// Numbered choices travel with the last text when they fit, else after it.
	if choices != "" {
		last := len(texts) - 1
		if joined := joinNonEmpty(texts[last], choices); utf16Len(joined) <= maxText {
			texts[last] = joined
		} else {
			texts = append(texts, splitUTF16(choices, maxText)...)
		}
	}

	var parts []part
	if out.Image != "" {
		if len(texts) == 1 && utf16Len(texts[0]) <= maxCaption {
			return []part{photo(chatID, out.Image, texts[0], markup)}, nil
		}
		parts = append(parts, photo(chatID, out.Image, "", nil))
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			continue
		}
		var kb *tgbotapi.InlineKeyboardMarkup
		if i == len(texts)-1 {
			kb = markup // the keyboard goes under the last part
		}
		parts = append(parts, message(chatID, t, kb))
	}
	return parts, nil
}

// splitUTF16 cuts s into parts of at most max UTF-16 units, at the last
// paragraph, line or word break in the second half of each part, else at a
// character boundary.
func splitUTF16(s string, max int) []string {
	var parts []string
	for utf16Len(s) > max {
		limit, units := 0, 0 // byte offset of the longest prefix that fits
		for i, r := range s {
			if units+utf16.RuneLen(r) > max {
				break
			}
			units += utf16.RuneLen(r)
			limit = i + utf8.RuneLen(r)
		}
		if limit == 0 { // max below one character: take it anyway
			_, size := utf8.DecodeRuneInString(s)
			limit = size
		}
		cut := limit
		for _, sep := range []string{"\n\n", "\n", " "} {
			if i := strings.LastIndex(s[:limit], sep); i > limit/2 {
				cut = i
				break
			}
		}
		parts = append(parts, strings.TrimRight(s[:cut], " \n"))
		s = strings.TrimLeft(s[cut:], " \n")
	}
	return append(parts, s)
}

func joinNonEmpty(a, b string) string {
	if strings.TrimSpace(a) == "" {
		return b
	}
	return a + "\n\n" + b
}

func message(chatID int64, text string, markup *tgbotapi.InlineKeyboardMarkup) part {
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(chatID, 10), "text": text}
	_ = p.AddInterface("reply_markup", markup) // plain structs of strings: cannot fail
	return part{method: "sendMessage", params: p}
}

// photo sends an image by URL, or by file_id for a FileScheme reference.
func photo(chatID int64, image, caption string, markup *tgbotapi.InlineKeyboardMarkup) part {
	file := image
	if id, ok := strings.CutPrefix(image, FileScheme); ok {
		file = id
	}
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(chatID, 10), "photo": file}
	p.AddNonEmpty("caption", caption)
	_ = p.AddInterface("reply_markup", markup)
	return part{method: "sendPhoto", params: p}
}

// keyboard renders buttons as an inline keyboard of rows of up to three, or,
// when a value cannot be callback_data (empty or over 64 bytes) or a label is
// empty, as numbered text choices.
func keyboard(buttons []channel.Button) (*tgbotapi.InlineKeyboardMarkup, string) {
	if len(buttons) == 0 {
		return nil, ""
	}
	fits := len(buttons) <= maxButtons
	for _, b := range buttons {
		if b.Value == "" || len(b.Value) > maxCallbackData || strings.TrimSpace(b.Text) == "" {
			fits = false
			break
		}
	}
	if !fits {
		var sb strings.Builder
		for i, b := range buttons {
			label := b.Text
			if strings.TrimSpace(label) == "" {
				label = b.Value
			}
			if i > 0 {
				sb.WriteByte('\n')
			}
			fmt.Fprintf(&sb, "%d. %s", i+1, label)
		}
		return nil, sb.String()
	}
	var rows [][]tgbotapi.InlineKeyboardButton
	for start := 0; start < len(buttons); start += buttonsPerRow {
		var row []tgbotapi.InlineKeyboardButton
		for _, b := range buttons[start:min(start+buttonsPerRow, len(buttons))] {
			row = append(row, tgbotapi.NewInlineKeyboardButtonData(b.Text, b.Value))
		}
		rows = append(rows, row)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb, ""
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
