package telegram

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
	"golang.org/x/time/rate"

	"github.com/parley-chat/parley/bot/channel"
)

// fileAPI is a Bot API on 127.0.0.1 for files: getFile, the file download
// and multipart uploads (sendPhoto, sendDocument), recorded.
type fileAPI struct {
	t     *testing.T
	srv   *httptest.Server
	files map[string][]byte // file path -> bytes
	mu    sync.Mutex
	sent  []upload
}

type upload struct {
	method, chatID, caption, field, name string
	data                                 []byte
}

func newFileAPI(t *testing.T, files map[string][]byte) *fileAPI {
	f := &fileAPI{t: t, files: files}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fileAPI) serve(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+testToken+"/"); ok {
		data, found := f.files[p]
		if !found {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
	if !ok {
		f.t.Errorf("file api: unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getFile":
		r.ParseForm()
		id := r.PostForm.Get("file_id")
		for p, data := range f.files {
			if strings.HasPrefix(p, "photos/"+id) || strings.HasPrefix(p, "documents/"+id) {
				io.WriteString(w, ok1(`{"file_id":"`+id+`","file_size":`+itoa(len(data))+`,"file_path":"`+p+`"}`))
				return
			}
		}
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
	case "sendPhoto", "sendDocument":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			f.t.Errorf("%s: not multipart: %v", method, err)
			return
		}
		u := upload{method: method, chatID: r.FormValue("chat_id"), caption: r.FormValue("caption")}
		for field, fhs := range r.MultipartForm.File {
			file, _ := fhs[0].Open()
			u.field, u.name = field, fhs[0].Filename
			u.data, _ = io.ReadAll(file)
			file.Close()
		}
		f.mu.Lock()
		f.sent = append(f.sent, u)
		f.mu.Unlock()
		io.WriteString(w, ok1(`{"message_id":7,"date":0,"chat":{"id":42,"type":"private"}}`))
	default:
		f.t.Errorf("file api: unexpected method %s", method)
	}
}

func ok1(result string) string { return `{"ok":true,"result":` + result + `}` }

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func fileAdapter(t *testing.T, url string, logs io.Writer) *Adapter {
	t.Helper()
	a, err := New(Config{Token: testToken, APIURL: url, HTTPClient: loopbackClient(),
		Logger: zerolog.New(logs).Level(zerolog.DebugLevel), GlobalRate: rate.Inf, ChatRate: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestFetchFile: a customer's photo comes through getFile and the file
// download; a file over the limit is refused before the download; the
// token never reaches an error or the log.
func TestFetchFile(t *testing.T) {
	jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{7}, 5000)...)
	api := newFileAPI(t, map[string][]byte{"photos/AgAD1.jpg": jpeg})
	logs := &syncBuffer{}
	a := fileAdapter(t, api.srv.URL, logs)
	ctx := context.Background()
	data, name, err := a.FetchFile(ctx, channel.Attachment{Kind: "photo", URL: FileScheme + "AgAD1"}, 1<<20)
	if err != nil || !bytes.Equal(data, jpeg) || name != "AgAD1.jpg" {
		t.Fatalf("FetchFile = %d bytes, %q, %v", len(data), name, err)
	}
	_, _, err = a.FetchFile(ctx, channel.Attachment{Kind: "photo", URL: FileScheme + "AgAD1"}, 1000)
	if !errors.Is(err, channel.ErrFileTooBig) {
		t.Errorf("over the limit: %v, want ErrFileTooBig", err)
	}
	_, _, err = a.FetchFile(ctx, channel.Attachment{Kind: "document", URL: FileScheme + "nope"}, 1<<20)
	if err == nil || !channel.IsPermanent(err) || strings.Contains(err.Error(), tokenTail) {
		t.Errorf("unknown file: %v, want a permanent error without the token", err)
	}
	if strings.Contains(logs.String(), tokenTail) {
		t.Errorf("token in the log: %s", logs.String())
	}
}

// TestSendFiles: an agent's picture goes as sendPhoto with the agent's
// name as caption, a PDF as sendDocument, both multipart with the bytes.
func TestSendFiles(t *testing.T) {
	api := newFileAPI(t, nil)
	a := fileAdapter(t, api.srv.URL, io.Discard)
	png := []byte("\x89PNG\r\n\x1a\n....")
	pdf := []byte("%PDF-1.4 ...")
	err := a.Send(context.Background(), channel.Outbound{To: tgAddr("42"), Key: "out-1", Sender: "Anna",
		Files: []channel.File{
			{ID: "f_1", Kind: "image", Name: "label.png", Type: "image/png", Data: png},
			{ID: "f_2", Kind: "file", Name: "act.pdf", Type: "application/pdf", Data: pdf},
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := []upload{
		{method: "sendPhoto", chatID: "42", caption: "Anna:", field: "photo", name: "label.png", data: png},
		{method: "sendDocument", chatID: "42", field: "document", name: "act.pdf", data: pdf},
	}
	if len(api.sent) != len(want) {
		t.Fatalf("uploads %+v, want %+v", api.sent, want)
	}
	for i := range want {
		g, w := api.sent[i], want[i]
		if g.method != w.method || g.chatID != w.chatID || g.caption != w.caption || g.field != w.field || g.name != w.name || !bytes.Equal(g.data, w.data) {
			t.Errorf("upload %d: %+v, want %+v", i, g, w)
		}
	}
}
