package vk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

// fileVK is a VK API, upload server and file host on 127.0.0.1 for the
// attachment paths; it records the API calls and the uploaded bytes.
type fileVK struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	calls   []string            // method names in order
	params  []map[string]string // their form parameters
	uploads map[string][]byte   // upload path -> bytes
}

func newFileVK(t *testing.T) *fileVK {
	f := &fileVK{t: t, uploads: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fileVK) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/userapi/photo.jpg":
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(vkJPEG)
		return
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		file, fh, err := r.FormFile(map[string]string{"/upload/photo": "photo", "/upload/doc": "file"}[r.URL.Path])
		if err != nil {
			f.t.Errorf("upload %s: %v", r.URL.Path, err)
			return
		}
		data, _ := io.ReadAll(file)
		f.mu.Lock()
		f.uploads[r.URL.Path+" "+fh.Filename] = data
		f.mu.Unlock()
		if r.URL.Path == "/upload/photo" {
			io.WriteString(w, `{"server":7,"photo":"[{\"photo\":\"x\"}]","hash":"h1"}`)
		} else {
			io.WriteString(w, `{"file":"doc-file-1"}`)
		}
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/method/")
	if !ok {
		f.t.Errorf("fake vk: unexpected %s %s", r.Method, r.URL.Path)
		return
	}
	r.ParseForm()
	p := map[string]string{}
	for k := range r.PostForm {
		if k != "v" && k != "access_token" {
			p[k] = r.PostForm.Get(k)
		}
	}
	f.mu.Lock()
	f.calls, f.params = append(f.calls, method), append(f.params, p)
	f.mu.Unlock()
	switch method {
	case "photos.getMessagesUploadServer":
		io.WriteString(w, `{"response":{"upload_url":"`+f.srv.URL+`/upload/photo"}}`)
	case "photos.saveMessagesPhoto":
		io.WriteString(w, `{"response":[{"id":55,"owner_id":-4242,"access_key":"k9"}]}`)
	case "docs.getMessagesUploadServer":
		io.WriteString(w, `{"response":{"upload_url":"`+f.srv.URL+`/upload/doc"}}`)
	case "docs.save":
		io.WriteString(w, `{"response":{"type":"doc","doc":{"id":66,"owner_id":-4242}}}`)
	case "messages.send":
		io.WriteString(w, `{"response":1}`)
	default:
		f.t.Errorf("fake vk: unexpected method %s", method)
	}
}

var vkJPEG = append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{9}, 3000)...)

func fileAdapter(t *testing.T, api string) *Adapter {
	t.Helper()
	a, err := New(Config{Token: testToken, GroupID: testGroup, Mode: ModeCallback, Secret: testSecret,
		Confirmation: testConfirmation, APIURL: api, Logger: zerolog.Nop(),
		HTTPClient: &http.Client{Transport: loopbackOnly{http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestVKFetchFile: a photo's URL from the message is downloaded; over the
// limit it is refused; a non-web URL is refused without a request.
func TestVKFetchFile(t *testing.T) {
	api := newFileVK(t)
	a := fileAdapter(t, api.srv.URL)
	ctx := context.Background()
	data, name, err := a.FetchFile(ctx, channel.Attachment{Kind: "photo", URL: api.srv.URL + "/userapi/photo.jpg"}, 1<<20)
	if err != nil || !bytes.Equal(data, vkJPEG) || name != "photo.jpg" {
		t.Fatalf("FetchFile = %d bytes, %q, %v", len(data), name, err)
	}
	if _, _, err := a.FetchFile(ctx, channel.Attachment{Kind: "photo", URL: api.srv.URL + "/userapi/photo.jpg"}, 100); !errors.Is(err, channel.ErrFileTooBig) {
		t.Errorf("over the limit: %v", err)
	}
	if _, _, err := a.FetchFile(ctx, channel.Attachment{Kind: "doc", URL: "file:///etc/passwd"}, 100); err == nil || !channel.IsPermanent(err) {
		t.Errorf("file URL: %v, want a permanent refusal", err)
	}
}

// TestVKSendFiles: an agent's picture is uploaded as a message photo and a
// PDF as a document, and one messages.send carries both attachments with
// the agent's name.
func TestVKSendFiles(t *testing.T) {
	api := newFileVK(t)
	a := fileAdapter(t, api.srv.URL)
	pdf := []byte("%PDF-1.4 act")
	err := a.Send(context.Background(), channel.Outbound{To: channel.Address{Channel: channel.VK, ID: "777"}, Key: "out-9", Sender: "Anna",
		Files: []channel.File{
			{ID: "f_1", Kind: "image", Name: "label.jpg", Type: "image/jpeg", Data: vkJPEG},
			{ID: "f_2", Kind: "file", Name: "act.pdf", Type: "application/pdf", Data: pdf},
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"photos.getMessagesUploadServer", "photos.saveMessagesPhoto", "docs.getMessagesUploadServer", "docs.save", "messages.send"}
	if strings.Join(api.calls, " ") != strings.Join(want, " ") {
		t.Fatalf("calls %q, want %q", api.calls, want)
	}
	if !bytes.Equal(api.uploads["/upload/photo label.jpg"], vkJPEG) || !bytes.Equal(api.uploads["/upload/doc act.pdf"], pdf) {
		t.Errorf("uploads: %d keys %v", len(api.uploads), api.uploads)
	}
	send := api.params[4]
	if send["attachment"] != "photo-4242_55_k9,doc-4242_66" || send["message"] != "Anna:" || send["peer_id"] != "777" || send["random_id"] == "" {
		t.Errorf("messages.send %v", send)
	}
	if p := api.params[1]; p["server"] != "7" || p["hash"] != "h1" {
		t.Errorf("photos.saveMessagesPhoto %v", p)
	}
	if p := api.params[2]; p["type"] != "doc" || p["peer_id"] != "777" {
		t.Errorf("docs.getMessagesUploadServer %v", p)
	}
}
