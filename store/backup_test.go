package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

// A hot backup taken while conversations keep writing is a consistent file
// holding a prefix of the committed turns.
func TestHotBackupWhileWriting(t *testing.T) {
	db := storetest.Open(t)
	c := mustContact(t, db, "telegram:1")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Commit(ctx, turnFor(c.ID, 0, fmt.Sprintf("%d-%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for len(mustHistory(t, db, c.ID)) < 40 {
		time.Sleep(time.Millisecond)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	n, err := db.BackupToFile(dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Size() != n {
		t.Errorf("copy: %v, size %v, reported %d", err, fi, n)
	}
	if _, err := os.Stat(dst + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
	storetest.CheckFile(t, dst)
	cp, err := store.Open(dst, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	live := mustHistory(t, db, c.ID)
	if len(got) < 40 || len(got) > len(live) {
		t.Fatalf("copy has %d messages, live %d", len(got), len(live))
	}
	for i, m := range got {
		if m.Text != live[i].Text {
			t.Fatalf("copy message %d = %q, live %q", i+1, m.Text, live[i].Text)
		}
	}
	if len(got)%2 != 0 {
		t.Errorf("copy holds half a turn: %d messages", len(got))
	}
}

func mustHistory(t *testing.T, db *store.DB, cid string) []store.Message {
	t.Helper()
	h, err := db.History(cid, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBackupStream(t *testing.T) {
	db := storetest.Open(t)
	mustContact(t, db, "vk:1")
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
	path := filepath.Join(t.TempDir(), "stream.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if _, err := cp.ContactByIdentity("vk:1"); err != nil {
		t.Errorf("streamed copy: %v", err)
	}
}

func TestBackupFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "live.db"), filepath.Join(dir, "backup.db")
	db, err := store.Open(src, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustContact(t, db, "web:1")
	// In use by a "server": refused clearly, nothing written.
	if _, err := store.BackupFile(src, dst, 50*time.Millisecond); !errors.Is(err, store.ErrLocked) {
		t.Errorf("BackupFile of a locked file: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a refused backup wrote %s", dst)
	}
	db.Close()
	if err := os.WriteFile(dst, []byte("old backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := store.BackupFile(src, dst, 0)
	if err != nil || n == 0 {
		t.Fatalf("BackupFile = %d, %v", n, err)
	}
	storetest.CheckFile(t, dst)
	if _, err := store.BackupFile(filepath.Join(dir, "missing.db"), dst, 0); err == nil {
		t.Error("BackupFile of a missing file succeeded")
	}
	if _, err := store.BackupFile(src, filepath.Join(dir, "no", "such", "dir", "b.db"), 0); err == nil {
		t.Error("BackupFile into a missing directory succeeded")
	}
}

func TestServeBackup(t *testing.T) {
	db := storetest.Open(t)
	mustContact(t, db, "web:1")
	srv := httptest.NewServer(http.HandlerFunc(db.ServeBackup))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d, %v", resp.StatusCode, err)
	}
	if resp.ContentLength != int64(len(body)) || len(body) == 0 {
		t.Errorf("Content-Length %d, body %d bytes", resp.ContentLength, len(body))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="parley-`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	path := filepath.Join(t.TempDir(), "dl.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	storetest.CheckFile(t, path)
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
