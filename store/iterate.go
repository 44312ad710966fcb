package store

import (
	"bytes"
	"encoding/json"
	"errors"
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

// EachMerge calls fn for every merge record in id order, outside any
// transaction.
func (db *DB) EachMerge(fn func(MergeRecord) error) error {
	return scanChunks(db, bMerges, nil, nil, func(k, v []byte) error {
		var rec MergeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("store: merge %d: %w", be64(k), err)
		}
		rec.ID = be64(k)
		return fn(rec)
	})
}

// EachLinkCode calls fn for every stored link code with the hash it is kept
// under (LinkCodeHash; the code itself is not stored), expired ones too.
func (db *DB) EachLinkCode(fn func(hash []byte, lc LinkCode) error) error {
	return scanChunks(db, bLinkCodes, nil, nil, func(k, v []byte) error {
		var lc LinkCode
		if err := json.Unmarshal(v, &lc); err != nil {
			return fmt.Errorf("store: link code: %w", err)
		}
		return fn(k, lc)
	})
}

// eachIn calls fn for every key of bucket in one read transaction; a
// bucket never created reads as empty. For the small, lazily created
// buckets (api keys, consent).
func eachIn(db *DB, bucket []byte, fn func(k, v []byte) error) error {
	return db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(fn)
	})
}

// EachAPIKey calls fn for every API key with the SHA-256 it is kept under
// (the key itself is not stored).
func (db *DB) EachAPIKey(fn func(hash []byte, k APIKey) error) error {
	return eachIn(db, bAPIKeys, func(k, v []byte) error {
		var rec APIKey
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("store: api key: %w", err)
		}
		return fn(bytes.Clone(k), rec)
	})
}

// EachConsent calls fn for every consent record, those of contacts merged
// away too (kept for an undo).
func (db *DB) EachConsent(fn func(contactID string, c Consent) error) error {
	return eachIn(db, bConsent, func(k, v []byte) error {
		var rec Consent
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("store: consent %q: %w", k, err)
		}
		id, _, _ := bytes.Cut(k, []byte{0})
		return fn(string(id), rec)
	})
}

// EachFile calls fn for every attachment in id order with its bytes (nil
// for a file the retention cleanup emptied), one file in memory at a time.
func (db *DB) EachFile(fn func(f File, data []byte) error) error {
	var ids []string
	if err := eachIn(db, bFiles, func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		f, data, err := db.FileData(id)
		if errors.Is(err, ErrFileErased) {
			err = nil
		}
		if err != nil {
			return err
		}
		if err := fn(f, data); err != nil {
			return err
		}
	}
	return nil
}

// EachIdempotent calls fn for every recorded idempotency key.
func (db *DB) EachIdempotent(fn func(Idempotent) error) error {
	return eachIn(db, bIdempotency, func(k, v []byte) error {
		var rec Idempotent
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("store: idempotency key %q: %w", k, err)
		}
		return fn(rec)
	})
}
