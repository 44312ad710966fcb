package store

import (
	"errors"
	"fmt"
	"io"
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
