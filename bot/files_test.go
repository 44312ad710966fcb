package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/bot/telegram"
	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/handoff"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

const tgToken = "123456789:AAE-fileTEST"

// tgFiles is a Bot API on 127.0.0.1 for the runtime's file paths: getFile
// and the download of the files it holds, sendMessage, and the multipart
// sendPhoto/sendDocument uploads (recorded with their bytes).
type tgFiles struct {
	srv     *httptest.Server
	files   map[string][]byte // file_id -> bytes
	mu      sync.Mutex
	texts   []string
	uploads map[string][]byte // method + " " + name -> bytes
}

func newTGFiles(t *testing.T, files map[string][]byte) *tgFiles {
	f := &tgFiles{files: files, uploads: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if id, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+tgToken+"/files/"); ok {
			w.Write(f.files[id])
			return
		}
		method := strings.TrimPrefix(r.URL.Path, "/bot"+tgToken+"/")
		switch method {
		case "getFile":
			r.ParseForm()
			id := r.PostForm.Get("file_id")
			b, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"file_id": id, "file_size": len(f.files[id]), "file_path": "files/" + id}})
			w.Write(b)
		case "sendMessage":
			r.ParseForm()
			f.mu.Lock()
			f.texts = append(f.texts, r.PostForm.Get("text"))
			f.mu.Unlock()
			io.WriteString(w, `{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":42,"type":"private"}}}`)
		case "sendPhoto", "sendDocument":
			if err := r.ParseMultipartForm(32 << 20); err != nil {
				t.Errorf("%s: %v", method, err)
			}
			for _, fhs := range r.MultipartForm.File {
				file, _ := fhs[0].Open()
				data, _ := io.ReadAll(file)
				f.mu.Lock()
				f.uploads[method+" "+fhs[0].Filename] = data
				f.mu.Unlock()
			}
			io.WriteString(w, `{"ok":true,"result":{"message_id":2,"date":0,"chat":{"id":42,"type":"private"}}}`)
		default:
			t.Errorf("fake bot api: unexpected %s", r.URL.Path)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *tgFiles) sentTexts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.texts...)
}

// TestTelegramPhotoReachesTheFlowAndTheStore: a customer's Telegram photo
// is fetched through the Bot API, stored with the conversation and given to
// the flow (kind, name, type, size, reference); a file over the limit is
// refused with a message to the customer and stays a reference; an agent's
// file goes back through sendPhoto with its bytes.
func TestTelegramPhotoReachesTheFlowAndTheStore(t *testing.T) {
	jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{3}, 4000)...)
	api := newTGFiles(t, map[string][]byte{"AgADbig": bytes.Repeat([]byte{1}, 9000), "AgADok": jpeg})
	tg, err := telegram.New(telegram.Config{Token: tgToken, APIURL: api.srv.URL, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := flows.LoadDir(filepath.Join("testdata", "photo"))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t)
	rt := New(Config{Logger: quietLogger(), Files: FilesConfig{FilePolicy: channel.FilePolicy{MaxBytes: 8000}}}, db, p.NewEngine(flows.Options{}), tg)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	from := channel.Address{Channel: channel.Telegram, ID: "42"}
	send := func(id string, atts ...channel.Attachment) {
		t.Helper()
		if err := rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: id, Attachments: atts}); err != nil {
			t.Fatal(err)
		}
		flush(t, rt)
	}
	if err := rt.HandleInbound(context.Background(), channel.Inbound{From: from, EventID: "tg:1", Text: "привет"}); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	send("tg:2", channel.Attachment{Kind: "document", URL: telegram.FileScheme + "AgADbig", Name: "huge.bin"})
	send("tg:3", channel.Attachment{Kind: "photo", URL: telegram.FileScheme + "AgADok"})

	texts := api.sentTexts()
	want := []string{
		"Пришлите фото повреждённой посылки.",
		"Файл не принят: можно присылать файлы до 7 KB.\n\nНужна фотография.",
		"Фото получено: AgADok, image/jpeg, 4011 байт.",
	}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Fatalf("bot said %q,\nwant %q", texts, want)
	}
	c, err := db.ContactByIdentity("telegram:42")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(c.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range hist {
		refs = append(refs, m.Attachments...)
	}
	if len(refs) != 2 || refs[0] != "document:tg-file:AgADbig (huge.bin)" || !strings.HasPrefix(refs[1], "image:parley:f_") {
		t.Fatalf("history attachments %q", refs)
	}
	id, _ := store.ParseAttachmentRef(refs[1])
	f, data, err := db.FileData(id)
	if err != nil || !bytes.Equal(data, jpeg) || f.Source != "telegram" || f.Sender != "customer" || f.ContactID != c.ID {
		t.Fatalf("stored file %+v, %d bytes, %v", f, len(data), err)
	}

	// An agent sends a PDF back: it goes up as a document, with its bytes.
	pdf := []byte("%PDF-1.4 the act")
	doc, err := db.PutFile(context.Background(), store.File{ContactID: c.ID, Name: "act.pdf", Type: "application/pdf", Sender: "agent:a1"}, pdf)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Deliver(context.Background(), handoff.Delivery{ContactID: c.ID, Address: "telegram:42", SenderID: "a1", SenderName: "Анна", Files: []string{doc.ID}}); err != nil {
		t.Fatal(err)
	}
	flush(t, rt)
	api.mu.Lock()
	got := api.uploads["sendDocument act.pdf"]
	api.mu.Unlock()
	if !bytes.Equal(got, pdf) {
		t.Errorf("uploaded %q, want the PDF", got)
	}
	// A file of another contact cannot be sent to this one.
	other, _, _ := db.ResolveContact(context.Background(), "web:someone", "", "")
	theirs, _ := db.PutFile(context.Background(), store.File{ContactID: other.ID, Type: "application/pdf", Sender: "customer"}, pdf)
	if err := rt.Deliver(context.Background(), handoff.Delivery{ContactID: c.ID, Address: "telegram:42", SenderID: "a1", Files: []string{theirs.ID}}); err == nil {
		t.Error("another contact's file was delivered")
	}
}

// TestRetentionEmptiesOldFilesAtStart: with a retention, the runtime's
// cleanup empties the files older than it when it starts (then hourly),
// keeping their records; younger files stay whole.
func TestRetentionEmptiesOldFilesAtStart(t *testing.T) {
	now := time.Now()
	var storeNow atomic.Int64 // the store's clock, read by its janitor too
	storeNow.Store(now.Add(-50 * 24 * time.Hour).UnixNano())
	db := storetest.OpenWith(t, store.Options{Clock: func() time.Time { return time.Unix(0, storeNow.Load()) }})
	c, _, err := db.ResolveContact(context.Background(), "web:v1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := db.PutFile(context.Background(), store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF old"))
	storeNow.Store(now.Add(-10 * 24 * time.Hour).UnixNano())
	fresh, _ := db.PutFile(context.Background(), store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF new"))
	rt := New(Config{Logger: quietLogger(), Clock: func() time.Time { return now }, Files: FilesConfig{Keep: 30 * 24 * time.Hour}}, db, echoEngine(t))
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, _, err := db.FileData(old.ID)
		if errors.Is(err, store.ErrFileErased) && !f.Erased.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old file not emptied: %+v, %v", f, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, data, err := db.FileData(fresh.ID); err != nil || string(data) != "%PDF new" {
		t.Errorf("fresh file: %q, %v", data, err)
	}
}
