package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCopyLive: every bucket, nested bucket, sequence and value arrives,
// across many intermediate commits (a tiny txMax), and the copy's values do
// not share memory with the source's map.
func TestCopyLive(t *testing.T) {
	dir := t.TempDir()
	src, err := bolt.Open(filepath.Join(dir, "src.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i%50) }
	err = src.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"a", "b"} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			b.SetSequence(42)
			for i := range 300 {
				if err := b.Put(fmt.Appendf(nil, "k%04d", i), val(i)); err != nil {
					return err
				}
			}
			nb, err := b.CreateBucket([]byte("nested"))
			if err != nil {
				return err
			}
			nb.SetSequence(7)
			for i := range 50 {
				if err := nb.Put(fmt.Appendf(nil, "n%02d", i), val(i)); err != nil {
					return err
				}
			}
		}
		_, err := tx.CreateBucket([]byte("empty"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := bolt.Open(filepath.Join(dir, "dst.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := copyLive(dst, src, 1024); err != nil {
		t.Fatal(err)
	}
	err = src.View(func(stx *bolt.Tx) error {
		return dst.View(func(dtx *bolt.Tx) error {
			var walk func(sb, db *bolt.Bucket, path string) error
			walk = func(sb, db *bolt.Bucket, path string) error {
				if db == nil {
					return fmt.Errorf("%s: missing in the copy", path)
				}
				if sb.Sequence() != db.Sequence() {
					return fmt.Errorf("%s: sequence %d, want %d", path, db.Sequence(), sb.Sequence())
				}
				n := 0
				err := sb.ForEach(func(k, v []byte) error {
					n++
					if v == nil {
						return walk(sb.Bucket(k), db.Bucket(k), path+"/"+string(k))
					}
					if got := db.Get(k); !bytes.Equal(got, v) {
						return fmt.Errorf("%s/%s: %d bytes, want %d", path, k, len(got), len(v))
					}
					return nil
				})
				if err != nil {
					return err
				}
				if m := db.Stats().KeyN; m != sb.Stats().KeyN {
					return fmt.Errorf("%s: %d keys in the copy, want %d (%d here)", path, m, sb.Stats().KeyN, n)
				}
				return nil
			}
			return stx.ForEach(func(name []byte, sb *bolt.Bucket) error {
				return walk(sb, dtx.Bucket(name), string(name))
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
