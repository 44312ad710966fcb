package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Profile is what a channel says about the customer behind one identity,
// as short named values: "name" and "username" (Telegram), "page" and
// "browser" (web chat). Bounded (maxProfileKeys, maxProfileKey,
// maxProfileValue): it comes from outside.
type Profile map[string]string

const (
	maxProfileKeys  = 8
	maxProfileKey   = 32
	maxProfileValue = 512
)

// cleanProfile bounds p: empty values go, keys and values are clipped, at
// most maxProfileKeys keys are kept (the first in sorted order).
func cleanProfile(p Profile) Profile {
	out := Profile{}
	for _, k := range slices.Sorted(maps.Keys(p)) {
		v := strings.TrimSpace(p[k])
		if v == "" || k == "" || len(out) == maxProfileKeys {
			continue
		}
		out[clip(k, maxProfileKey)] = clip(v, maxProfileValue)
	}
	return out
}

// SetProfile records what the channel says about identity's customer now,
// replacing what it said before (a visitor on another page, a renamed
// Telegram account). It writes only when something changed, so a channel
// may call it with every message; ErrNotFound when no contact has the
// identity.
func (db *DB) SetProfile(ctx context.Context, identity string, p Profile) error {
	if err := validIdentity(identity); err != nil {
		return err
	}
	p = cleanProfile(p)
	c, err := db.ContactByIdentity(identity)
	if err != nil {
		return err
	}
	if maps.Equal(c.Profiles[identity], p) {
		return nil
	}
	return db.write(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bIdentities).Get([]byte(identity))
		if id == nil {
			return fmt.Errorf("store: identity %q: %w", identity, ErrNotFound)
		}
		cur, err := getContact(tx, string(id))
		if err != nil {
			return err
		}
		if maps.Equal(cur.Profiles[identity], p) {
			return nil
		}
		if len(p) == 0 {
			delete(cur.Profiles, identity)
		} else {
			if cur.Profiles == nil {
				cur.Profiles = map[string]Profile{}
			}
			cur.Profiles[identity] = p
		}
		if len(cur.Profiles) == 0 {
			cur.Profiles = nil
		}
		cur.UpdatedAt = db.now()
		cur.Rev++
		return putJSON(tx.Bucket(bContacts), []byte(cur.ID), cur)
	})
}

// moveProfiles moves the profiles of identities from one contact's map to
// another's (a merge, or its undo); both may be nil.
func moveProfiles(from, into map[string]Profile, identities []string) (f, i map[string]Profile) {
	for _, id := range identities {
		p, ok := from[id]
		if !ok {
			continue
		}
		if into == nil {
			into = map[string]Profile{}
		}
		into[id] = p
		delete(from, id)
	}
	if len(from) == 0 {
		from = nil
	}
	return from, into
}
