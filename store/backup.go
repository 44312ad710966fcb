package store

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Backup writes a consistent copy of the whole file to w while the store
// keeps serving: it is one read transaction (tx.WriteTo), so writers go on,
// but a very large copy delays growing the memory map until it ends.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// ServeBackup answers a request with a hot copy of the database, for the
// server's admin endpoint (mount it behind authentication, for example as
// GET /admin/backup). Content-Length comes from the same transaction as the
// bytes, so a client can tell a complete copy from a cut one.
func (db *DB) ServeBackup(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := "parley-" + db.now().Format("20060102-150405") + ".db"
	err := db.view(func(tx *bolt.Tx) error {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Content-Length", fmt.Sprint(tx.Size()))
		h.Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return nil
		}
		_, err := tx.WriteTo(w)
		return err
	})
	if errors.Is(err, ErrClosed) {
		http.Error(w, "database closed", http.StatusServiceUnavailable)
	}
	// Other errors happen mid-body: the short body and Content-Length tell
	// the client; there is nothing more to send.
}

// BackupToFile writes a hot copy to dst through dst.tmp, fsync and rename,
// so dst is either the previous file or a complete copy.
func (db *DB) BackupToFile(dst string) (int64, error) {
	return writeFileAtomic(dst, db.Backup)
}

// BackupFile copies the store file at src, which no process may be using,
// to dst (through dst.tmp, fsync and rename). The copy is byte-level and
// does not depend on the schema version. A file held by a running server
// fails after timeout with ErrLocked: ask the server for a hot copy then.
func BackupFile(src, dst string, timeout time.Duration) (int64, error) {
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	bdb, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return 0, fmt.Errorf("store: backup %s: no lock within %v: %w", src, timeout, ErrLocked)
		}
		return 0, fmt.Errorf("store: backup %s: %w", src, err)
	}
	defer bdb.Close()
	return writeFileAtomic(dst, func(w io.Writer) (int64, error) {
		var n int64
		err := bdb.View(func(tx *bolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
		return n, err
	})
}

// writeFileAtomic writes dst.tmp with write, fsyncs it, renames it over dst
// and fsyncs the directory, so a crash never leaves a torn dst.
func writeFileAtomic(dst string, write func(io.Writer) (int64, error)) (n int64, err error) {
	if dst == "" {
		return 0, fmt.Errorf("store: backup: empty destination path")
	}
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if n, err = write(f); err != nil {
		return n, fmt.Errorf("store: backup to %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return n, fmt.Errorf("store: backup: fsync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return n, fmt.Errorf("store: backup: close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, dst); err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	// The rename is durable only once the directory is synced.
	if d, derr := os.Open(filepath.Dir(dst)); derr == nil {
		derr = d.Sync()
		d.Close()
		if derr != nil {
			return n, fmt.Errorf("store: backup: fsync directory of %s: %w", dst, derr)
		}
	}
	return n, nil
}
