package store

import (
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// EachContact calls fn for every contact in id order. fn runs outside any
// transaction (on copies), as with Sessions. For copying a store whole
// (parley migrate --from).
func (db *DB) EachContact(fn func(Contact) error) error {
	return scanChunks(db, bContacts, nil, nil, func(k, v []byte) error {
		var c Contact
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("store: contact %q: %w", k, err)
		}
		return fn(c)
	})
}

// Positions returns every stored position (see Position).
func (db *DB) Positions() (map[string]string, error) {
	out := map[string]string{}
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bMeta).Cursor()
		for k, v := c.Seek([]byte(positionPrefix)); k != nil && strings.HasPrefix(string(k), positionPrefix); k, v = c.Next() {
			out[strings.TrimPrefix(string(k), positionPrefix)] = string(v)
		}
		return nil
	})
	return out, err
}
