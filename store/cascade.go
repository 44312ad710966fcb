package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Cascades: a message tried on one channel after another until the
// contact reacts. The runtime keeps each cascade's state as opaque JSON.
//
// Bucket (created on first write; a missing bucket reads as empty):
//
//	cascades        cascade id -> opaque state

var bCascades = []byte("cascades")

// CascadeRecord is one stored cascade.
type CascadeRecord struct {
	ID   string
	Data []byte
}

func putCascade(tx *bolt.Tx, id string, data []byte) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("store: bad cascade id %q", id)
	}
	if len(data) > maxValue {
		return fmt.Errorf("store: cascade of %d bytes, limit %d", len(data), maxValue)
	}
	b, err := tx.CreateBucketIfNotExists(bCascades)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), bytes.Clone(data))
}

// PutCascade stores a cascade's state.
func (db *DB) PutCascade(ctx context.Context, id string, data []byte) error {
	return db.write(ctx, func(tx *bolt.Tx) error { return putCascade(tx, id, data) })
}

// Cascade returns one cascade's state; ErrNotFound when none.
func (db *DB) Cascade(id string) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bCascades); b != nil {
			out = bytes.Clone(b.Get([]byte(id)))
		}
		if out == nil {
			return fmt.Errorf("store: cascade %q: %w", id, ErrNotFound)
		}
		return nil
	})
	return out, err
}

// Cascades lists every stored cascade, by id.
func (db *DB) Cascades() ([]CascadeRecord, error) {
	var out []CascadeRecord
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCascades)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out = append(out, CascadeRecord{ID: string(k), Data: bytes.Clone(v)})
			return nil
		})
	})
	return out, err
}
