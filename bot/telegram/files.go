package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/parley-chat/parley/bot/channel"
)

// Telegram's limits on files: a bot downloads at most 20 MB (getFile) and
// uploads a photo of at most 10 MB (anything bigger goes as a document).
// https://core.telegram.org/bots/api#getfile, #sendphoto
const (
	maxDownload    = 20 << 20
	maxPhotoUpload = 10 << 20
)

// FetchFile downloads a customer's file: getFile resolves the file_id to a
// path, then the bytes come from {APIURL}/file/bot<token>/<path>. A file
// over max (or Telegram's 20 MB) is refused before the download when
// Telegram gives its size, and cut off at max+1 bytes otherwise.
func (a *Adapter) FetchFile(ctx context.Context, at channel.Attachment, max int64) ([]byte, string, error) {
	id, ok := strings.CutPrefix(at.URL, FileScheme)
	if !ok || id == "" {
		return nil, "", fmt.Errorf("telegram: %q is not a Telegram file", at.URL)
	}
	resp, err := a.raw(ctx, "getFile", tgbotapi.Params{"file_id": id}, a.callTimeout)
	if err != nil {
		return nil, "", classify("getFile", err)
	}
	var f tgbotapi.File
	if err := json.Unmarshal(resp.Result, &f); err != nil || f.FilePath == "" {
		return nil, "", fmt.Errorf("telegram getFile: no file path in the answer")
	}
	if int64(f.FileSize) > max || f.FileSize > maxDownload {
		return nil, "", fmt.Errorf("telegram: file of %d bytes: %w", f.FileSize, channel.ErrFileTooBig)
	}
	ctx, cancel := context.WithTimeout(ctx, a.callTimeout)
	defer cancel()
	u := a.base + "/file/bot" + a.token + "/" + (&url.URL{Path: f.FilePath}).EscapedPath()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", a.redactErr(err)
	}
	res, err := a.hc.Do(req)
	if err != nil {
		return nil, "", a.redactErr(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("telegram file download: HTTP %d", res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		return nil, "", a.redactErr(err)
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("telegram: file over %d bytes: %w", max, channel.ErrFileTooBig)
	}
	name := f.FilePath[strings.LastIndexByte(f.FilePath, '/')+1:]
	return data, name, nil
}

// sendFiles uploads out's files, each as a photo (a JPEG or PNG picture up
// to 10 MB: Telegram shows it inline) or else as a document, the text as
// the first one's caption when it fits, else as a message before them. An
// agent's name heads the caption as it heads their texts.
func (a *Adapter) sendFiles(ctx context.Context, chatID int64, out channel.Outbound) error {
	caption := strings.TrimSpace(out.Text)
	if out.Sender != "" {
		caption = strings.TrimSpace(out.Sender + ":\n" + caption)
	}
	if utf16Len(caption) > maxCaption {
		text := out
		text.Files = nil
		if err := a.Send(ctx, text); err != nil {
			return err
		}
		caption = ""
	}
	first := a.chats.takeFirst(chatID)
	for i := a.progress.get(out.Key); i < len(out.Files); i++ {
		f := out.Files[i]
		if len(f.Data) == 0 {
			return &channel.PermanentError{Err: fmt.Errorf("telegram: file %s has no bytes", f.ID)}
		}
		if err := a.wait(ctx, chatID, first); err != nil {
			return err
		}
		first = false
		name := f.Name
		if name == "" {
			name = f.ID
		}
		bytes := tgbotapi.FileBytes{Name: name, Bytes: f.Data}
		var c tgbotapi.Chattable
		method := "sendDocument"
		if (f.Type == "image/jpeg" || f.Type == "image/png") && len(f.Data) <= maxPhotoUpload {
			p := tgbotapi.NewPhoto(chatID, bytes)
			p.Caption = caption
			c, method = p, "sendPhoto"
		} else {
			d := tgbotapi.NewDocument(chatID, bytes)
			d.Caption = caption
			c = d
		}
		caption = "" // the text goes with the first file only
		if _, err := a.call(ctx, c); err != nil {
			if i > 0 {
				a.progress.set(out.Key, i)
			}
			err = classify(method, err)
			a.log.Debug().Str("to", out.To.String()).Str("key", out.Key).Err(err).Msg("send failed")
			return err
		}
	}
	a.progress.clear(out.Key)
	return nil
}
