package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// contactCache keeps recently read contacts decoded, keyed by id and
// checked against the stored bytes on every read: a read still looks the
// record up, but skips the JSON decode when the bytes are the ones decoded
// before. Every inbound message reads its contact, and the decode was a
// visible part of a turn's CPU. Correct by construction: a changed record
// has other bytes.
type contactCache struct {
	mu sync.Mutex
	m  map[string]cachedContact
}

type cachedContact struct {
	raw []byte
	c   Contact
}

// maxCachedContacts bounds the cache; when full it starts over, which is
// cheap and keeps the active contacts after a moment.
const maxCachedContacts = 16384

// get decodes the contact record v of id, from the cache when v is what
// was decoded last time. The result is the caller's to change.
func (cc *contactCache) get(id string, v []byte) (Contact, error) {
	cc.mu.Lock()
	e, ok := cc.m[id]
	cc.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, v) {
		e = cachedContact{} // decode into fresh maps, never the cached ones
		if err := json.Unmarshal(v, &e.c); err != nil {
			return Contact{}, fmt.Errorf("store: contact %q: %w", id, err)
		}
		e.raw = bytes.Clone(v)
		cc.mu.Lock()
		if cc.m == nil || len(cc.m) >= maxCachedContacts {
			cc.m = make(map[string]cachedContact)
		}
		cc.m[id] = e
		cc.mu.Unlock()
	}
	c := e.c
	c.Fields = maps.Clone(c.Fields)
	c.Identities = slices.Clone(c.Identities)
	return c, nil
}

// readContact is getContact for read transactions, through the cache.
func (db *DB) readContact(tx *bolt.Tx, id string) (Contact, error) {
	v := tx.Bucket(bContacts).Get([]byte(id))
	if v == nil {
		return Contact{}, fmt.Errorf("store: contact %q: %w", id, ErrNotFound)
	}
	return db.contacts.get(id, v)
}
