package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The rules below are shared with the other backend (store/postgres), so
// both refuse and default exactly the same values. They only validate and
// fill in; they touch no storage.

// Limits shared by every backend.
const (
	// MaxValue bounds opaque blobs: session state, inbox and outbox data.
	MaxValue = maxValue
	// MaxEventKey bounds a channel event key.
	MaxEventKey = maxEventKey
	// DefaultDedupeRetention is how long event keys are remembered by default.
	DefaultDedupeRetention = defaultRetention
)

// ValidIdentity checks a "channel:id" identity.
func ValidIdentity(identity string) error { return validIdentity(identity) }

// ValidContactID checks a contact id.
func ValidContactID(id string) error { return validContactID(id) }

// ClipContactInput bounds a channel-supplied display name and language the
// way ResolveContact does.
func ClipContactInput(name, lang string) (string, string) {
	return clip(name, maxName), clip(lang, maxLang)
}

// NewID returns a fresh id with prefix ("c_" contacts, "a_" agents) that
// sorts by creation time.
func NewID(prefix string, now time.Time) string { return newID(prefix, now) }

// ValidContactUpdate checks the identities of a Turn.Contact.
func ValidContactUpdate(c *Contact) error { return validContactUpdate(c) }

// PrepareTicket fills a new ticket's defaults (status queued, CreatedAt
// now) and validates it.
func PrepareTicket(t *Ticket, now time.Time) error { return prepareTicket(t, now) }

// ValidTicket checks a ticket after a change.
func ValidTicket(t *Ticket) error { return validTicket(t) }

// ValidAgent checks an agent account.
func ValidAgent(a Agent) error { return validAgent(a) }

// ValidConsoleSession checks a console session.
func ValidConsoleSession(s ConsoleSession) error { return validConsoleSession(s) }

// ValidEvent checks an analytics event the way AppendEvents and Commit do.
func ValidEvent(e Event) error {
	_, err := prepareEvent(e, time.Unix(0, 0))
	return err
}

// ValidOutbox checks an outbox entry the way Commit does.
func ValidOutbox(o OutboxEntry) error {
	_, err := prepareOutbox(o, time.Unix(0, 0))
	return err
}

// NewLinkCode returns a fresh code (LinkKindCode) or token (LinkKindToken)
// in canonical form.
func NewLinkCode(kind string) string { return newLinkCode(kind) }

// LinkCodeHash is what a store keeps of a canonical link code.
func LinkCodeHash(canonical string) []byte { return linkKey(canonical) }

// AnonymiseTicket applies ForgetContact's rule to a kept ticket: the
// anonymous id instead of the contact's, no address, variables, summary,
// evidence or note texts, a free-text reason erased, resolved if open.
func AnonymiseTicket(t *Ticket, anon string, now time.Time) {
	t.ContactID, t.Address, t.Vars, t.Evidence = anon, "", nil, nil
	if t.Reason != "" && !isLabel(t.Reason) {
		t.Reason = redacted
	}
	if t.Summary != "" {
		t.Summary = redacted
	}
	for i := range t.Notes {
		t.Notes[i].Text = redacted
	}
	if t.Status != TicketResolved {
		t.Status = TicketResolved
		if t.ResolvedAt.IsZero() {
			t.ResolvedAt = now
		}
		if t.Outcome == "" {
			t.Outcome = "end"
		}
	}
}

// AnonymiseEvent applies ForgetContact's rule to a kept event of the
// forgotten person: anon as its contact, values naming one of names
// replaced by anon, free texts erased.
func AnonymiseEvent(e *Event, names map[string]bool, anon string) {
	e.ContactID = anon
	for key, val := range e.Data {
		switch {
		case names[val]:
			e.Data[key] = anon
		case key == "error" || key == "address" || key == "text" || key == "note" || key == "comment":
			e.Data[key] = redacted
		case key == "reason" && !isLabel(val):
			e.Data[key] = redacted
		}
	}
}

// CleanProfile bounds a channel's profile the way SetProfile does.
func CleanProfile(p Profile) Profile { return cleanProfile(p) }

// ValidSavedReply checks a saved reply the way PutSavedReply does.
func ValidSavedReply(r SavedReply) error { return validReply(r) }

// ValidConsentChannel checks a channel name the way SetConsent does.
func ValidConsentChannel(channel string) error {
	if channel == "" || len(channel) > 64 || strings.IndexByte(channel, 0) >= 0 {
		return fmt.Errorf("store: bad consent channel %q", channel)
	}
	return nil
}

// ValidCascade checks a cascade's id and state the way PutCascade does.
func ValidCascade(id string, data []byte) error {
	if id == "" || len(id) > 128 {
		return fmt.Errorf("store: bad cascade id %q", id)
	}
	if len(data) > maxValue {
		return fmt.Errorf("store: cascade of %d bytes, limit %d", len(data), maxValue)
	}
	return nil
}

// NewAPIKey checks name and scopes the way CreateAPIKey does and makes a
// new key: the record, the secret (shown once) and the SHA-256 a store
// keeps instead of it.
func NewAPIKey(name string, scopes []string, now time.Time) (k APIKey, secret string, hash [32]byte, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxName {
		return k, "", hash, fmt.Errorf("store: api key name must be 1 to %d bytes", maxName)
	}
	if len(scopes) == 0 {
		return k, "", hash, fmt.Errorf("store: api key %q: no scopes (want some of %s)", name, strings.Join(APIScopes, ", "))
	}
	for _, s := range scopes {
		if !slices.Contains(APIScopes, s) {
			return k, "", hash, fmt.Errorf("store: api key %q: unknown scope %q (want some of %s)", name, s, strings.Join(APIScopes, ", "))
		}
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	k = APIKey{ID: newID("k_", now), Name: name, Prefix: secret[:len(apiKeyPrefix)+6],
		Scopes: slices.Compact(slices.Sorted(slices.Values(scopes))), CreatedAt: now}
	return k, secret, sha256.Sum256([]byte(secret)), nil
}

// APIKeyHash is what a store looks a presented key up by; false when the
// secret cannot be a key (no lookup needed).
func APIKeyHash(secret string) ([32]byte, bool) {
	if !strings.HasPrefix(secret, apiKeyPrefix) || len(secret) > 128 {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(secret)), true
}

// ValidFileID reports whether id can be a file id.
func ValidFileID(id string) bool { return validFileID(id) }

// PrepareFile checks a new attachment the way PutFile does and fills in its
// id, time, size, hash and kind.
func PrepareFile(f File, data []byte, now time.Time) (File, error) {
	if err := validContactID(f.ContactID); err != nil {
		return File{}, err
	}
	if len(data) == 0 {
		return File{}, errors.New("store: file is empty")
	}
	if len(data) > MaxFileBytes {
		return File{}, fmt.Errorf("store: file is %d bytes; the limit is %d", len(data), MaxFileBytes)
	}
	if f.Type == "" {
		return File{}, errors.New("store: file has no content type")
	}
	sum := sha256.Sum256(data)
	f.ID, f.At, f.Size, f.SHA256 = newID(FilePrefix, now), now, int64(len(data)), hex.EncodeToString(sum[:])
	f.Kind, f.Name, f.Erased = FileKind(f.Type), clip(f.Name, 255), time.Time{}
	return f, nil
}
