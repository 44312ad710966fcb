package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Contact is one customer, whatever channels they use.
type Contact struct {
	ID     string            `json:"id"`
	Name   string            `json:"name,omitempty"`
	Lang   string            `json:"lang,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	// Identities are "channel:id" strings ("telegram:42", "vk:7", "web:v_x").
	Identities []string  `json:"identities"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Rev counts the stored versions of the contact. A Turn.Contact that
	// carries the Rev it was read at is refused with ErrConflict when the
	// contact changed meanwhile (a link merged another contact into it), so a
	// stale copy never drops identities or fields; zero skips the check.
	Rev uint64 `json:"rev,omitempty"`
	// Profiles are what each channel says about the customer, by identity
	// (SetProfile): the Telegram name and username, the web chat's page
	// and browser. They move with their identity when contacts merge.
	Profiles map[string]Profile `json:"profiles,omitempty"`
}

const (
	maxIdentity = 256
	maxName     = 200
	maxLang     = 16
)

// clip cuts s to at most n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// idEncoding is lower-case base32 (Crockford-like alphabet order) without
// padding: ids sort by creation time and are safe in URLs.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// newID returns prefix + 48 bits of milliseconds + 40 random bits.
func newID(prefix string, now time.Time) string {
	var b [11]byte
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails on Linux (Go ≥ 1.24 it panics instead)
	return prefix + idEncoding.EncodeToString(b[:])
}

func validIdentity(identity string) error {
	ch, id, ok := strings.Cut(identity, ":")
	switch {
	case !ok || ch == "" || id == "":
		return fmt.Errorf("store: bad identity %q: want channel:id", identity)
	case len(identity) > maxIdentity:
		return fmt.Errorf("store: bad identity %.40q...: longer than %d bytes", identity, maxIdentity)
	case !utf8.ValidString(identity) || strings.ContainsAny(identity, "\x00\n\r"):
		return fmt.Errorf("store: bad identity %q: invalid characters", identity)
	}
	return nil
}

func validContactID(id string) error {
	if id == "" || len(id) > 128 || strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("store: bad contact id %q", id)
	}
	return nil
}

// ResolveContact returns the contact owning identity, creating it when none
// does. Name and Lang fill the stored ones only when those are empty (a
// channel's display name does not overwrite one an agent or flow set).
func (db *DB) ResolveContact(ctx context.Context, identity, name, lang string) (c Contact, created bool, err error) {
	if err := validIdentity(identity); err != nil {
		return Contact{}, false, err
	}
	// Channel-supplied names must never fail the inbound path: bound them.
	name, lang = clip(name, maxName), clip(lang, maxLang)
	// Fast path without the writer: the contact exists and needs no update.
	c, err = db.ContactByIdentity(identity)
	if err == nil && !(c.Name == "" && name != "") && !(c.Lang == "" && lang != "") {
		return c, false, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Contact{}, false, err
	}
	now := db.now()
	newCID := newID("c_", now)
	err = db.write(ctx, func(tx *bolt.Tx) error {
		created = false
		if id := tx.Bucket(bIdentities).Get([]byte(identity)); id != nil {
			cur, err := getContact(tx, string(id))
			if err != nil {
				return err
			}
			changed := false
			if cur.Name == "" && name != "" {
				cur.Name, changed = name, true
			}
			if cur.Lang == "" && lang != "" {
				cur.Lang, changed = lang, true
			}
			if changed {
				cur.UpdatedAt = now
				cur.Rev++
				if err := putJSON(tx.Bucket(bContacts), []byte(cur.ID), cur); err != nil {
					return err
				}
			}
			c = cur
			return nil
		}
		c = Contact{ID: newCID, Name: name, Lang: lang, Identities: []string{identity}, CreatedAt: now, UpdatedAt: now, Rev: 1}
		if err := putJSON(tx.Bucket(bContacts), []byte(c.ID), c); err != nil {
			return err
		}
		created = true
		return tx.Bucket(bIdentities).Put([]byte(identity), []byte(c.ID))
	})
	if err != nil {
		return Contact{}, false, err
	}
	return c, created, nil
}

// Contact returns the contact with id.
func (db *DB) Contact(id string) (Contact, error) {
	var c Contact
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		c, err = db.readContact(tx, id)
		return err
	})
	return c, err
}

// ContactByIdentity returns the contact owning identity ("telegram:42").
func (db *DB) ContactByIdentity(identity string) (Contact, error) {
	var c Contact
	err := db.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bIdentities).Get([]byte(identity))
		if id == nil {
			return fmt.Errorf("store: identity %q: %w", identity, ErrNotFound)
		}
		var err error
		c, err = db.readContact(tx, string(id))
		return err
	})
	return c, err
}

func getContact(tx *bolt.Tx, id string) (Contact, error) {
	var c Contact
	v := tx.Bucket(bContacts).Get([]byte(id))
	if v == nil {
		return c, fmt.Errorf("store: contact %q: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("store: contact %q: %w", id, err)
	}
	return c, nil
}

// updateContactTx stores a new version of an existing contact and keeps the
// identity index in step: added identities must be free or already this
// contact's (ErrConflict otherwise), removed ones are released.
func updateContactTx(tx *bolt.Tx, c Contact, now time.Time) error {
	old, err := getContact(tx, c.ID)
	if err != nil {
		return err
	}
	if c.Rev != 0 && c.Rev != old.Rev {
		return fmt.Errorf("store: contact %q changed since it was read (rev %d, now %d): %w", c.ID, c.Rev, old.Rev, ErrConflict)
	}
	ids := tx.Bucket(bIdentities)
	for _, identity := range c.Identities {
		if slices.Contains(old.Identities, identity) {
			continue
		}
		if owner := ids.Get([]byte(identity)); owner != nil && string(owner) != c.ID {
			return fmt.Errorf("store: identity %q belongs to contact %q: %w", identity, owner, ErrConflict)
		}
		if err := ids.Put([]byte(identity), []byte(c.ID)); err != nil {
			return err
		}
	}
	for _, identity := range old.Identities {
		if !slices.Contains(c.Identities, identity) {
			if err := ids.Delete([]byte(identity)); err != nil {
				return err
			}
		}
	}
	c.CreatedAt = old.CreatedAt
	c.UpdatedAt = now
	c.Rev = old.Rev + 1
	return putJSON(tx.Bucket(bContacts), []byte(c.ID), c)
}

func validContactUpdate(c *Contact) error {
	if len(c.Identities) == 0 {
		return fmt.Errorf("store: contact %q: no identities left", c.ID)
	}
	seen := make(map[string]bool, len(c.Identities))
	for _, id := range c.Identities {
		if err := validIdentity(id); err != nil {
			return fmt.Errorf("store: contact %q: %w", c.ID, err)
		}
		if seen[id] {
			return fmt.Errorf("store: contact %q: identity %q listed twice", c.ID, id)
		}
		seen[id] = true
	}
	return nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %T %q: %w", v, k, err)
	}
	return b.Put(k, data)
}
