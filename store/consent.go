package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Consent: a customer's opt-out of marketing, per channel. Every outbound
// path that is not transactional (an order shipped) checks it.
//
// Bucket (created on first write; a missing bucket reads as empty):
//
//	consent         contact id + 0x00 + channel -> JSON Consent

var bConsent = []byte("consent")

// Consent is a contact's marketing consent on one channel.
type Consent struct {
	Channel  string    `json:"channel"`
	OptedOut bool      `json:"opted_out"`
	At       time.Time `json:"at"`
	// Source says how it was given or withdrawn: "message" (the customer
	// wrote stop), "link" (an e-mail's unsubscribe link), "api".
	Source string `json:"source,omitempty"`
}

func consentKey(contactID, channel string) []byte {
	k := make([]byte, 0, len(contactID)+1+len(channel))
	return append(append(append(k, contactID...), 0), channel...)
}

// SetConsent records whether the contact opted out of marketing on channel.
// changed is false when it was already so (a second "stop" is not news).
func (db *DB) SetConsent(ctx context.Context, contactID, channel string, optedOut bool, source string) (changed bool, err error) {
	if err := validContactID(contactID); err != nil {
		return false, err
	}
	if channel == "" || len(channel) > 64 || bytes.IndexByte([]byte(channel), 0) >= 0 {
		return false, fmt.Errorf("store: bad consent channel %q", channel)
	}
	now := db.now()
	err = db.write(ctx, func(tx *bolt.Tx) error {
		changed = false
		if tx.Bucket(bContacts).Get([]byte(contactID)) == nil {
			return fmt.Errorf("store: consent of contact %q: %w", contactID, ErrNotFound)
		}
		b, err := tx.CreateBucketIfNotExists(bConsent)
		if err != nil {
			return err
		}
		k := consentKey(contactID, channel)
		if v := b.Get(k); v != nil {
			var cur Consent
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("store: consent of %q on %s: %w", contactID, channel, err)
			}
			if cur.OptedOut == optedOut {
				return nil
			}
		} else if !optedOut {
			return nil // consent is the default: nothing to record
		}
		changed = true
		return putJSON(b, k, Consent{Channel: channel, OptedOut: optedOut, At: now, Source: source})
	})
	return changed, err
}

// Consents lists the contact's recorded consent per channel, by channel.
func (db *DB) Consents(contactID string) ([]Consent, error) {
	var out []Consent
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsent)
		if b == nil {
			return nil
		}
		prefix := append([]byte(contactID), 0)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec Consent
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("store: consent of %q: %w", contactID, err)
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// OptedOut reports whether the contact opted out of marketing on channel.
func (db *DB) OptedOut(contactID, channel string) (bool, error) {
	out := false
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bConsent)
		if b == nil {
			return nil
		}
		v := b.Get(consentKey(contactID, channel))
		if v == nil {
			return nil
		}
		var rec Consent
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		out = rec.OptedOut
		return nil
	})
	return out, err
}

// mergeConsent gives intoID the consent fromID recorded (an opt-out on a
// channel wins over consent). fromID's records stay, so an undone merge
// gives that contact back its own.
func mergeConsent(tx *bolt.Tx, intoID, fromID string) error {
	b := tx.Bucket(bConsent)
	if b == nil {
		return nil
	}
	prefix := append([]byte(fromID), 0)
	type kv struct{ ch, v []byte }
	var from []kv
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		from = append(from, kv{bytes.Clone(k[len(prefix):]), bytes.Clone(v)})
	}
	for _, r := range from {
		var rec Consent
		if err := json.Unmarshal(r.v, &rec); err != nil {
			return fmt.Errorf("store: consent of %q: %w", fromID, err)
		}
		k := consentKey(intoID, string(r.ch))
		if cur := b.Get(k); cur != nil && !rec.OptedOut {
			continue // intoID's own record stands unless fromID opted out
		}
		if err := b.Put(k, r.v); err != nil {
			return err
		}
	}
	return nil
}

// dropConsent removes the consent records of the contacts in ids (an
// erasure).
func dropConsent(tx *bolt.Tx, ids map[string]bool) error {
	b := tx.Bucket(bConsent)
	if b == nil {
		return nil
	}
	for id := range ids {
		prefix := append([]byte(id), 0)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}
