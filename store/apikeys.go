package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// API keys let machines (a shop's backend, a CRM) call the outbound API.
// A key is 32 random bytes: its SHA-256 is stored, never the key, and a
// fast hash is right for a secret of that entropy (a password hash guards
// guessable secrets). The first characters are kept in the clear so a
// person can tell keys apart in a list.
//
// Buckets (created on first write, so the file's schema version is not
// involved; a missing bucket reads as empty):
//
//	api_keys        SHA-256(key) -> JSON APIKey
//	api_key_ids     key id -> SHA-256(key)

var (
	bAPIKeys   = []byte("api_keys")
	bAPIKeyIDs = []byte("api_key_ids")
)

// API key scopes.
const (
	ScopeTriggers    = "triggers"
	ScopeContacts    = "contacts"
	ScopeConversions = "conversions"
	ScopeBroadcasts  = "broadcasts"
)

// APIScopes are the scopes a key may carry.
var APIScopes = []string{ScopeTriggers, ScopeContacts, ScopeConversions, ScopeBroadcasts}

// APIKey is a stored machine key, without the key itself.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"` // the key's first characters, for people
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the key no longer works.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// HasScope reports whether the key allows scope.
func (k APIKey) HasScope(scope string) bool { return slices.Contains(k.Scopes, scope) }

// apiKeyPrefix starts every key, so a leaked one is recognisable (secret
// scanners) and a person sees what it is.
const apiKeyPrefix = "pk_"

// CreateAPIKey stores a new key named name with scopes and returns the
// record and the key, which is never available again.
func (db *DB) CreateAPIKey(ctx context.Context, name string, scopes []string) (APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxName {
		return APIKey{}, "", fmt.Errorf("store: api key name must be 1 to %d bytes", maxName)
	}
	if len(scopes) == 0 {
		return APIKey{}, "", fmt.Errorf("store: api key %q: no scopes (want some of %s)", name, strings.Join(APIScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(APIScopes, s) {
			return APIKey{}, "", fmt.Errorf("store: api key %q: unknown scope %q (want some of %s)", name, s, strings.Join(APIScopes, ", "))
		}
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := apiKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := db.now()
	k := APIKey{ID: newID("k_", now), Name: name, Prefix: secret[:len(apiKeyPrefix)+6],
		Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))), CreatedAt: now}
	sum := sha256.Sum256([]byte(secret))
	err := db.write(ctx, func(tx *bolt.Tx) error {
		keys, err := tx.CreateBucketIfNotExists(bAPIKeys)
		if err != nil {
			return err
		}
		ids, err := tx.CreateBucketIfNotExists(bAPIKeyIDs)
		if err != nil {
			return err
		}
		if err := putJSON(keys, sum[:], k); err != nil {
			return err
		}
		return ids.Put([]byte(k.ID), sum[:])
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

// APIKeyBySecret returns the live key whose secret is secret; ErrNotFound
// for an unknown or revoked one (the caller need not tell them apart).
func (db *DB) APIKeyBySecret(secret string) (APIKey, error) {
	if !strings.HasPrefix(secret, apiKeyPrefix) || len(secret) > 128 {
		return APIKey{}, fmt.Errorf("store: api key: %w", ErrNotFound)
	}
	sum := sha256.Sum256([]byte(secret))
	var k APIKey
	found := false
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAPIKeys)
		if b == nil {
			return nil
		}
		// The lookup is by hash, so timing tells nothing about the key;
		// the compare is for form's sake against a corrupted index.
		c := b.Cursor()
		kk, v := c.Seek(sum[:])
		if kk == nil || subtle.ConstantTimeCompare(kk, sum[:]) != 1 {
			return nil
		}
		found = true
		return json.Unmarshal(v, &k)
	})
	if err != nil {
		return APIKey{}, err
	}
	if !found || k.Revoked() {
		return APIKey{}, fmt.Errorf("store: api key: %w", ErrNotFound)
	}
	return k, nil
}

// APIKeys lists every key, revoked ones included, oldest first.
func (db *DB) APIKeys() ([]APIKey, error) {
	var out []APIKey
	err := db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAPIKeys)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var k APIKey
			if err := json.Unmarshal(v, &k); err != nil {
				return fmt.Errorf("store: api key: %w", err)
			}
			out = append(out, k)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b APIKey) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// RevokeAPIKey revokes the key with id or name (the only live key of that
// name). ErrNotFound when none matches, ErrConflict when a name is shared
// by several live keys. Revoking a revoked key is not an error.
func (db *DB) RevokeAPIKey(ctx context.Context, idOrName string) (APIKey, error) {
	var out APIKey
	now := db.now()
	err := db.write(ctx, func(tx *bolt.Tx) error {
		keys, ids := tx.Bucket(bAPIKeys), tx.Bucket(bAPIKeyIDs)
		if keys == nil || ids == nil {
			return fmt.Errorf("store: api key %q: %w", idOrName, ErrNotFound)
		}
		hash := ids.Get([]byte(idOrName))
		if hash == nil {
			var match [][]byte
			_ = keys.ForEach(func(k, v []byte) error {
				var rec APIKey
				if json.Unmarshal(v, &rec) == nil && rec.Name == idOrName && !rec.Revoked() {
					match = append(match, bytes.Clone(k))
				}
				return nil
			})
			switch len(match) {
			case 0:
				return fmt.Errorf("store: api key %q: %w", idOrName, ErrNotFound)
			case 1:
				hash = match[0]
			default:
				return fmt.Errorf("store: %d live api keys are named %q; revoke by id: %w", len(match), idOrName, ErrConflict)
			}
		}
		var rec APIKey
		if err := json.Unmarshal(keys.Get(hash), &rec); err != nil {
			return fmt.Errorf("store: api key %q: %w", idOrName, err)
		}
		if !rec.Revoked() {
			rec.RevokedAt = now
		}
		out = rec
		return putJSON(keys, hash, rec)
	})
	return out, err
}
