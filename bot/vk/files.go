package vk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"

	"github.com/parley-chat/parley/bot/channel"
)

var _ channel.FileFetcher = (*Adapter)(nil)

// FetchFile downloads a customer's photo, document or voice message from
// the URL VK put in the message (userapi.com and vk.com links that need no
// token), at most max bytes. The URL came in an event VK signed (the
// Callback secret) or handed us (Long Poll), so it is VK's; it must still
// be http(s).
func (a *Adapter) FetchFile(ctx context.Context, at channel.Attachment, max int64) ([]byte, string, error) {
	u, err := url.Parse(at.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", &channel.PermanentError{Err: fmt.Errorf("vk: attachment URL %q is not a web link", at.URL)}
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	res, err := a.client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("vk: file download: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("vk: file download: HTTP %d", res.StatusCode)
	}
	if res.ContentLength > max {
		return nil, "", fmt.Errorf("vk: file of %d bytes: %w", res.ContentLength, channel.ErrFileTooBig)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("vk: file download: %w", err)
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("vk: file over %d bytes: %w", max, channel.ErrFileTooBig)
	}
	return data, path.Base(u.Path), nil
}

// uploadFiles uploads out's files for peer and returns the attachment
// strings messages.send takes: pictures through photos.getMessagesUploadServer
// and photos.saveMessagesPhoto (shown inline), anything else as a document
// (docs.getMessagesUploadServer, docs.save).
// https://dev.vk.com/ru/api/upload/photo-in-message, /api/upload/document-in-message
func (a *Adapter) uploadFiles(ctx context.Context, peer int64, files []channel.File) ([]string, error) {
	out := make([]string, 0, len(files))
	for _, f := range files {
		if len(f.Data) == 0 {
			return nil, &channel.PermanentError{Err: fmt.Errorf("vk: file %s has no bytes", f.ID)}
		}
		name := f.Name
		if name == "" {
			name = f.ID
		}
		var att string
		var err error
		if f.Type == "image/jpeg" || f.Type == "image/png" || f.Type == "image/gif" {
			att, err = a.uploadPhoto(ctx, peer, name, f.Data)
		} else {
			att, err = a.uploadDoc(ctx, peer, name, f.Data)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, att)
	}
	return out, nil
}

func (a *Adapter) uploadPhoto(ctx context.Context, peer int64, name string, data []byte) (string, error) {
	var server struct {
		UploadURL string `json:"upload_url"`
	}
	if err := a.call(ctx, "photos.getMessagesUploadServer", api.Params{"peer_id": peer}, &server); err != nil {
		return "", err
	}
	var up struct {
		Server int    `json:"server"`
		Photo  string `json:"photo"`
		Hash   string `json:"hash"`
	}
	if err := a.postFile(ctx, server.UploadURL, "photo", name, data, &up); err != nil {
		return "", err
	}
	if up.Photo == "" || up.Photo == "[]" {
		return "", &channel.PermanentError{Err: fmt.Errorf("vk: photo upload of %s was not accepted", name)}
	}
	var saved []struct {
		ID        int64  `json:"id"`
		OwnerID   int64  `json:"owner_id"`
		AccessKey string `json:"access_key"`
	}
	if err := a.call(ctx, "photos.saveMessagesPhoto", api.Params{"server": up.Server, "photo": up.Photo, "hash": up.Hash}, &saved); err != nil {
		return "", err
	}
	if len(saved) == 0 {
		return "", fmt.Errorf("vk: photos.saveMessagesPhoto returned no photo")
	}
	att := "photo" + strconv.FormatInt(saved[0].OwnerID, 10) + "_" + strconv.FormatInt(saved[0].ID, 10)
	if saved[0].AccessKey != "" {
		att += "_" + saved[0].AccessKey
	}
	return att, nil
}

func (a *Adapter) uploadDoc(ctx context.Context, peer int64, name string, data []byte) (string, error) {
	var server struct {
		UploadURL string `json:"upload_url"`
	}
	if err := a.call(ctx, "docs.getMessagesUploadServer", api.Params{"peer_id": peer, "type": "doc"}, &server); err != nil {
		return "", err
	}
	var up struct {
		File  string `json:"file"`
		Error string `json:"error"`
	}
	if err := a.postFile(ctx, server.UploadURL, "file", name, data, &up); err != nil {
		return "", err
	}
	if up.File == "" {
		return "", &channel.PermanentError{Err: fmt.Errorf("vk: document upload of %s was not accepted: %s", name, up.Error)}
	}
	var saved struct {
		Type string `json:"type"`
		Doc  struct {
			ID      int64 `json:"id"`
			OwnerID int64 `json:"owner_id"`
		} `json:"doc"`
	}
	if err := a.call(ctx, "docs.save", api.Params{"file": up.File, "title": name}, &saved); err != nil {
		return "", err
	}
	return "doc" + strconv.FormatInt(saved.Doc.OwnerID, 10) + "_" + strconv.FormatInt(saved.Doc.ID, 10), nil
}

// postFile sends data as the multipart field of an upload server and
// decodes its JSON answer. The upload URL is VK's answer to our own call.
func (a *Adapter) postFile(ctx context.Context, uploadURL, field, name string, data []byte, out any) error {
	u, err := url.Parse(uploadURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("vk: upload server %q is not a web address", uploadURL)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile(field, name)
	if err != nil {
		return err
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uploadURL, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("vk: upload: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("vk: upload: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("vk: upload answer: %w", err)
	}
	return nil
}

// withFiles renders out's files into msgs: the attachments go with the
// first message (VK takes up to 10), an agent's name stands as the text
// when there is none.
func withFiles(msgs []vkMessage, out channel.Outbound, atts []string) []vkMessage {
	if len(atts) == 0 {
		return msgs
	}
	joined := strings.Join(atts, ",")
	if len(msgs) == 0 {
		text := ""
		if out.Sender != "" {
			text = out.Sender + ":"
		}
		return []vkMessage{{text: text, attachment: joined}}
	}
	if msgs[0].attachment != "" {
		joined = msgs[0].attachment + "," + joined
	}
	msgs[0].attachment = joined
	return msgs
}
