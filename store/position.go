package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Positions are small named values an adapter keeps across restarts, such
// as the Bots Long Poll position VK hands out: without it a restart would
// start from VK's current position and never fetch what customers wrote
// while the server was down. They live in the meta bucket under
// "position/" + key.

const positionPrefix = "position/"

// Position returns the value stored under key, "" when there is none.
func (db *DB) Position(key string) (string, error) {
	var v string
	err := db.view(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bMeta).Get([]byte(positionPrefix + key)))
		return nil
	})
	return v, err
}

// SetPosition stores value under key (durably, as every write).
func (db *DB) SetPosition(ctx context.Context, key, value string) error {
	if key == "" || len(key) > 200 || len(value) > 1024 {
		return fmt.Errorf("store: position %q: key of 1..200 bytes and a value of at most 1024 wanted", key)
	}
	return db.write(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put([]byte(positionPrefix+key), []byte(value))
	})
}
