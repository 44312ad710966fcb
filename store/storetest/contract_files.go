package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
)

// Attachments (ported from the bbolt store's files_test.go): a file comes
// back byte for byte; its owner and a contact merged into the owner reach
// it, another contact does not; export carries it with its bytes; forget
// erases it; the retention cleanup empties old files and keeps their
// records.

func contractFiles(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	olga := contact(t, db, "telegram:801")
	other := contact(t, db, "web:v801")
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes: 3 bbolt chunks
	f, err := db.PutFile(cctx, store.File{ContactID: olga.ID, Name: "receipt.txt", Type: "text/plain; charset=utf-8", Sender: "customer", Source: "telegram"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != int64(len(data)) || f.Kind != "file" || len(f.SHA256) != 64 || !store.ValidFileID(f.ID) || !f.At.Equal(ct0) {
		t.Fatalf("PutFile record: %+v", f)
	}
	for _, bad := range []struct {
		f    store.File
		data []byte
	}{
		{store.File{ContactID: olga.ID, Type: "text/plain"}, nil},
		{store.File{ContactID: olga.ID}, []byte("x")},
		{store.File{ContactID: "", Type: "text/plain"}, []byte("x")},
	} {
		if _, err := db.PutFile(cctx, bad.f, bad.data); err == nil {
			t.Errorf("PutFile(%+v, %d bytes) accepted", bad.f, len(bad.data))
		}
	}
	if _, err := db.PutFile(cctx, store.File{ContactID: "c_nobody", Type: "text/plain"}, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("file of a missing contact: %v, want ErrNotFound", err)
	}
	got, back, err := db.FileData(f.ID)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("FileData: %d bytes, %v", len(back), err)
	}
	same(t, "FileData record", f, got)
	if rec, err := db.File(f.ID); err != nil || !rec.At.Equal(f.At) || rec.SHA256 != f.SHA256 {
		t.Errorf("File: %+v, %v", rec, err)
	}
	for _, id := range []string{"f_missing", "../etc", ""} {
		if _, err := db.File(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("File(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := db.FileOf(olga.ID, f.ID); err != nil {
		t.Errorf("FileOf(owner): %v", err)
	}
	if _, err := db.FileOf(other.ID, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FileOf(another contact) = %v, want ErrNotFound", err)
	}

	// After other is merged into olga, olga's person includes other's files.
	clk.Advance(time.Second)
	img, err := db.PutFile(cctx, store.File{ContactID: other.ID, Type: "image/png", Sender: "customer"}, []byte("\x89PNG\r\n\x1a\nxxxx"))
	if err != nil || img.Kind != "image" {
		t.Fatalf("PutFile image: %+v, %v", img, err)
	}
	if _, err := db.MergeContacts(cctx, olga.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FileOf(olga.ID, img.ID); err != nil {
		t.Errorf("FileOf(survivor, merged contact's file): %v", err)
	}

	exp, err := db.ExportContact(olga.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Files) != 2 || !bytes.Equal(exp.Files[0].Data, data) || exp.Files[1].ID != img.ID || string(exp.Files[1].Data) != "\x89PNG\r\n\x1a\nxxxx" {
		t.Fatalf("export has %d files: %+v", len(exp.Files), exp.Files)
	}
	if e, _ := db.ExportContact(contact(t, db, "vk:1").ID); e.Files == nil || len(e.Files) != 0 {
		t.Errorf("export without files: %#v, want an empty list", e.Files)
	}
	res, err := db.ForgetContact(cctx, olga.ID, "test")
	if err != nil || res.Files != 2 {
		t.Fatalf("ForgetContact: %+v, %v", res, err)
	}
	for _, id := range []string{f.ID, img.ID} {
		if _, _, err := db.FileData(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FileData(%s) after forget = %v, want ErrNotFound", id, err)
		}
	}
}

func contractPruneFiles(t *testing.T, open Opener) {
	db, clk := openAt(t, open)
	c := contact(t, db, "vk:901")
	old, err := db.PutFile(cctx, store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF-1.4 old"))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * 24 * time.Hour)
	fresh, err := db.PutFile(cctx, store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF-1.4 new"))
	if err != nil {
		t.Fatal(err)
	}
	n, size, err := db.PruneFiles(cctx, clk.Now().Add(-30*24*time.Hour))
	if err != nil || n != 1 || size != int64(len("%PDF-1.4 old")) {
		t.Fatalf("PruneFiles = %d, %d, %v; want 1 file", n, size, err)
	}
	f, _, err := db.FileData(old.ID)
	if !errors.Is(err, store.ErrFileErased) || !f.Erased.Equal(clk.Now()) || f.Size != old.Size {
		t.Errorf("old file: %+v, %v; want its record and ErrFileErased", f, err)
	}
	if _, data, err := db.FileData(fresh.ID); err != nil || string(data) != "%PDF-1.4 new" {
		t.Errorf("fresh file: %q, %v", data, err)
	}
	// Again: nothing more to do.
	if n, _, err := db.PruneFiles(cctx, clk.Now().Add(-30*24*time.Hour)); err != nil || n != 0 {
		t.Errorf("second PruneFiles = %d, %v; want 0", n, err)
	}
	exp, err := db.ExportContact(c.ID)
	if err != nil || len(exp.Files) != 2 || exp.Files[0].Data != nil || exp.Files[0].Erased.IsZero() || string(exp.Files[1].Data) != "%PDF-1.4 new" {
		t.Errorf("export after the cleanup: %+v, %v", exp.Files, err)
	}
}
