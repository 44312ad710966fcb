package store_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// TestFilesRoundTrip: a file larger than one chunk comes back byte for
// byte; its owner (and a contact merged into the owner) reach it, another
// contact does not; export carries it with its bytes; forget erases it.
func TestFilesRoundTrip(t *testing.T) {
	db := storetest.Open(t)
	olga := mustContact(t, db, "telegram:801")
	other := mustContact(t, db, "web:v801")
	data := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes: 3 chunks
	f, err := db.PutFile(ctx, store.File{ContactID: olga.ID, Name: "receipt.txt", Type: "text/plain; charset=utf-8", Sender: "customer", Source: "telegram"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != int64(len(data)) || f.Kind != "file" || len(f.SHA256) != 64 || f.ID == "" {
		t.Fatalf("PutFile record: %+v", f)
	}
	got, back, err := db.FileData(f.ID)
	if err != nil || !bytes.Equal(back, data) || got.Name != "receipt.txt" {
		t.Fatalf("FileData: %d bytes, %+v, %v", len(back), got, err)
	}
	if _, err := db.FileOf(olga.ID, f.ID); err != nil {
		t.Errorf("FileOf(owner): %v", err)
	}
	if _, err := db.FileOf(other.ID, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FileOf(another contact) = %v, want ErrNotFound", err)
	}
	ref := store.AttachmentRef(f)
	if id, ok := store.ParseAttachmentRef(ref); !ok || id != f.ID {
		t.Errorf("ParseAttachmentRef(%q) = %q, %v", ref, id, ok)
	}
	if _, ok := store.ParseAttachmentRef("photo:tg:file:AgAD (x.jpg)"); ok {
		t.Error("a channel reference parsed as a stored file")
	}

	// After other is merged into olga, olga's person includes other's files.
	img, err := db.PutFile(ctx, store.File{ContactID: other.ID, Type: "image/png", Sender: "customer"}, []byte("\x89PNG\r\n\x1a\nxxxx"))
	if err != nil || img.Kind != "image" {
		t.Fatalf("PutFile image: %+v, %v", img, err)
	}
	if _, err := db.MergeContacts(ctx, olga.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FileOf(olga.ID, img.ID); err != nil {
		t.Errorf("FileOf(survivor, merged contact's file): %v", err)
	}

	exp, err := db.ExportContact(olga.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Files) != 2 || !bytes.Equal(exp.Files[0].Data, data) || exp.Files[1].ID != img.ID {
		t.Fatalf("export has %d files: %+v", len(exp.Files), exp.Files)
	}
	res, err := db.ForgetContact(ctx, olga.ID, "test")
	if err != nil || res.Files != 2 {
		t.Fatalf("ForgetContact: %+v, %v", res, err)
	}
	for _, id := range []string{f.ID, img.ID} {
		if _, _, err := db.FileData(id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FileData(%s) after forget = %v, want ErrNotFound", id, err)
		}
	}
}

// TestPruneFiles: the retention cleanup empties old files and keeps their
// records; newer files stay whole.
func TestPruneFiles(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := storetest.OpenWith(t, store.Options{Clock: func() time.Time { return now }})
	c := mustContact(t, db, "vk:901")
	old, err := db.PutFile(ctx, store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF-1.4 old"))
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(40 * 24 * time.Hour)
	fresh, err := db.PutFile(ctx, store.File{ContactID: c.ID, Type: "application/pdf", Sender: "customer"}, []byte("%PDF-1.4 new"))
	if err != nil {
		t.Fatal(err)
	}
	n, size, err := db.PruneFiles(ctx, now.Add(-30*24*time.Hour))
	if err != nil || n != 1 || size != int64(len("%PDF-1.4 old")) {
		t.Fatalf("PruneFiles = %d, %d, %v; want 1 file", n, size, err)
	}
	if f, _, err := db.FileData(old.ID); !errors.Is(err, store.ErrFileErased) || f.Erased.IsZero() {
		t.Errorf("old file: %+v, %v; want its record and ErrFileErased", f, err)
	}
	if _, data, err := db.FileData(fresh.ID); err != nil || string(data) != "%PDF-1.4 new" {
		t.Errorf("fresh file: %q, %v", data, err)
	}
}

// BenchmarkFiles: storing and reading back a 1 MiB photo (4 chunks), with
// fsync, as a customer's upload and an agent's view of it cost.
func BenchmarkFiles(b *testing.B) {
	db := storetest.Open(b)
	c, _, err := db.ResolveContact(ctx, "web:bench", "", "")
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, 1<<18)
	b.Run("put", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := db.PutFile(ctx, store.File{ContactID: c.ID, Type: "image/jpeg", Sender: "customer"}, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := db.PutFile(ctx, store.File{ContactID: c.ID, Type: "image/jpeg", Sender: "customer"}, data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := db.FileData(f.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
