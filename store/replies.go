package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// SavedReply is a prepared reply a lead wrote in the agent console (the
// project's own, from parley.yaml, are not stored). Agents pick it while
// answering; {{ contact.name }} and the like are filled in then.
type SavedReply struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Text      string    `json:"text"`
	Lang      string    `json:"lang,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Saved replies live in the meta bucket under "reply/" + id: a handful of
// records, no schema change.
const replyPrefix = "reply/"

// Bounds on a saved reply, so the console's list stays small.
const (
	MaxSavedReplies   = 500
	maxReplyID        = 64
	maxReplyTitle     = 200
	MaxSavedReplyText = 4000
)

func validReply(r SavedReply) error {
	switch {
	case r.ID == "" || len(r.ID) > maxReplyID:
		return fmt.Errorf("store: saved reply id %q: want 1..%d bytes", r.ID, maxReplyID)
	case r.Text == "" || len(r.Text) > MaxSavedReplyText:
		return fmt.Errorf("store: saved reply %q: text of 1..%d bytes wanted", r.ID, MaxSavedReplyText)
	case len(r.Title) > maxReplyTitle || len(r.Lang) > maxLang:
		return fmt.Errorf("store: saved reply %q: title over %d bytes or language over %d", r.ID, maxReplyTitle, maxLang)
	case !utf8.ValidString(r.ID + r.Title + r.Text + r.Lang):
		return fmt.Errorf("store: saved reply %q: invalid UTF-8", r.ID)
	}
	return nil
}

// SavedReplies returns the saved replies by id.
func (db *DB) SavedReplies() ([]SavedReply, error) {
	var out []SavedReply
	err := db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bMeta).Cursor()
		p := []byte(replyPrefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			var r SavedReply
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("store: saved reply %q: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// PutSavedReply creates or replaces the saved reply r.ID, stamped with the
// time; created says it is new. ErrConflict when MaxSavedReplies exist.
func (db *DB) PutSavedReply(ctx context.Context, r SavedReply) (created bool, err error) {
	if err := validReply(r); err != nil {
		return false, err
	}
	r.UpdatedAt = db.now()
	err = db.write(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		key := []byte(replyPrefix + r.ID)
		created = meta.Get(key) == nil
		if created {
			n, c, p := 0, meta.Cursor(), []byte(replyPrefix)
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
				n++
			}
			if n >= MaxSavedReplies {
				return fmt.Errorf("store: %d saved replies already, the limit: %w", n, ErrConflict)
			}
		}
		return putJSON(meta, key, r)
	})
	return created, err
}

// DeleteSavedReply removes the saved reply id; ErrNotFound when there is
// none.
func (db *DB) DeleteSavedReply(ctx context.Context, id string) error {
	return db.write(ctx, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		key := []byte(replyPrefix + id)
		if meta.Get(key) == nil {
			return fmt.Errorf("store: saved reply %q: %w", id, ErrNotFound)
		}
		return meta.Delete(key)
	})
}
