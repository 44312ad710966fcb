package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Link codes join a customer's identities on two channels into one contact
// with proof that the same person holds both: a code shown in one channel
// is sent back from the other. Two kinds share one mechanism:
//
//   - a code ("7KQM-4T9X"): 8 characters of an alphabet without look-alikes
//     (no 0/O, 1/I/L), at least one digit and one letter, for typing; about
//     39 bits, so attempts are limited per contact;
//   - a token ("link_" + 26 base32 characters, 130 bits) for deep links
//     (Telegram /start <token>, VK ref) where nobody types it.
//
// Only a SHA-256 of a code is stored: a copy of the file does not reveal
// codes that are still valid. A contact has at most one live code of each
// kind; issuing a new one replaces the old.

// Link code kinds.
const (
	LinkKindCode  = "code"
	LinkKindToken = "token"
)

const (
	codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	codeLen      = 8
	tokenPrefix  = "link_"
	tokenLen     = 26
)

// ErrLinkCode: the code is unknown, expired, already used or the
// presenter's own. ErrLinkLimit: the presenter made too many failed attempts.
var (
	ErrLinkCode  = errors.New("store: link code is unknown or expired")
	ErrLinkLimit = errors.New("store: too many failed link attempts")
)

// LinkCode is an issued code. Code is only known when it is issued.
type LinkCode struct {
	Code      string    `json:"-"`
	ContactID string    `json:"contact_id"`
	Kind      string    `json:"kind"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ParseLinkCode reports whether s, as a customer typed it, has the shape of
// a link code or token, and returns its canonical form. Codes are accepted
// in any case, with or without the dash and surrounding spaces.
func ParseLinkCode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if t, ok := strings.CutPrefix(strings.ToLower(s), tokenPrefix); ok {
		if len(t) != tokenLen {
			return "", false
		}
		for _, r := range t {
			if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", r) {
				return "", false
			}
		}
		return tokenPrefix + t, true
	}
	if len(s) > codeLen+2 {
		return "", false
	}
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != codeLen {
		return "", false
	}
	digit, letter := false, false
	for _, r := range s {
		if !strings.ContainsRune(codeAlphabet, r) {
			return "", false
		}
		if r >= '0' && r <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	if !digit || !letter {
		return "", false
	}
	return s[:4] + "-" + s[4:], true
}

func newLinkCode(kind string) string {
	if kind == LinkKindToken {
		var b [17]byte
		_, _ = rand.Read(b[:])
		return tokenPrefix + idEncoding.EncodeToString(b[:])[:tokenLen]
	}
	for {
		var b [codeLen]byte
		_, _ = rand.Read(b[:])
		out := make([]byte, codeLen)
		for i, v := range b {
			// 248 = 8*31: reject the bias tail by retrying the whole code below.
			out[i] = codeAlphabet[int(v)%len(codeAlphabet)]
			if v >= 248 {
				out = nil
				break
			}
		}
		if out == nil {
			continue
		}
		if c, ok := ParseLinkCode(string(out)); ok {
			return c
		}
	}
}

func linkKey(canonical string) []byte {
	sum := sha256.Sum256([]byte("parley link v1\x00" + canonical))
	return sum[:]
}

// IssueLinkCode makes a one-time code (LinkKindCode) or deep-link token
// (LinkKindToken) for the contact, valid for ttl, replacing the contact's
// previous one of that kind. Expired codes of every contact are pruned.
func (db *DB) IssueLinkCode(ctx context.Context, contactID, kind string, ttl time.Duration) (LinkCode, error) {
	if err := validContactID(contactID); err != nil {
		return LinkCode{}, err
	}
	if kind != LinkKindCode && kind != LinkKindToken {
		return LinkCode{}, fmt.Errorf("store: link code kind %q, want %q or %q", kind, LinkKindCode, LinkKindToken)
	}
	if ttl <= 0 {
		return LinkCode{}, fmt.Errorf("store: link code lifetime %v, want > 0", ttl)
	}
	now := db.now()
	lc := LinkCode{Code: newLinkCode(kind), ContactID: contactID, Kind: kind, ExpiresAt: now.Add(ttl)}
	err := db.write(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bContacts).Get([]byte(contactID)) == nil {
			return fmt.Errorf("store: link code for contact %q: %w", contactID, ErrNotFound)
		}
		b := tx.Bucket(bLinkCodes)
		err := deleteWhere(b, func(v []byte) bool {
			var c LinkCode
			return json.Unmarshal(v, &c) != nil || !c.ExpiresAt.After(now) || (c.ContactID == contactID && c.Kind == kind)
		})
		if err != nil {
			return err
		}
		return putJSON(b, linkKey(lc.Code), lc)
	})
	if err != nil {
		return LinkCode{}, err
	}
	return lc, nil
}

// LookupLinkCode returns the live code presented by contact by, without
// using it: ErrLinkLimit when by has too many failed attempts (see
// LinkAttempts), ErrLinkCode when the code is unknown, expired or by's own.
func (db *DB) LookupLinkCode(code, by string) (LinkCode, error) {
	var lc LinkCode
	err := db.view(func(tx *bolt.Tx) error {
		var err error
		lc, err = lookupLinkTx(tx, code, by, db.now())
		return err
	})
	return lc, err
}

func lookupLinkTx(tx *bolt.Tx, code, by string, now time.Time) (LinkCode, error) {
	var lc LinkCode
	canon, ok := ParseLinkCode(code)
	if !ok {
		return lc, fmt.Errorf("%w: not a link code", ErrLinkCode)
	}
	v := tx.Bucket(bLinkCodes).Get(linkKey(canon))
	if v == nil {
		return lc, fmt.Errorf("%w: no such code", ErrLinkCode)
	}
	if err := json.Unmarshal(v, &lc); err != nil {
		return lc, fmt.Errorf("store: link code: %w", err)
	}
	lc.Code = canon
	switch {
	case !lc.ExpiresAt.After(now):
		return lc, fmt.Errorf("%w: expired at %s", ErrLinkCode, lc.ExpiresAt.Format(time.RFC3339))
	case lc.ContactID == by:
		return lc, fmt.Errorf("%w: the code is the presenter's own", ErrLinkCode)
	}
	return lc, nil
}

// linkAttempts is the failed-attempt window of one contact.
type linkAttempts struct {
	Count int       `json:"count"`
	Since time.Time `json:"since"`
}

// LinkFailed counts a failed attempt of contactID in a window of the given
// length and returns the attempts in the current window.
func (db *DB) LinkFailed(ctx context.Context, contactID string, window time.Duration) (int, error) {
	if err := validContactID(contactID); err != nil {
		return 0, err
	}
	now := db.now()
	var n int
	err := db.write(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bContacts).Get([]byte(contactID)) == nil {
			return fmt.Errorf("store: link attempt of contact %q: %w", contactID, ErrNotFound)
		}
		b := tx.Bucket(bLinkAttempts)
		var a linkAttempts
		if v := b.Get([]byte(contactID)); v != nil {
			_ = json.Unmarshal(v, &a) // a damaged record restarts the window
		}
		if a.Since.IsZero() || now.Sub(a.Since) >= window {
			a = linkAttempts{Since: now}
		}
		a.Count++
		n = a.Count
		return putJSON(b, []byte(contactID), a)
	})
	return n, err
}

// LinkAttempts returns contactID's failed attempts in the current window.
func (db *DB) LinkAttempts(contactID string, window time.Duration) (int, error) {
	var n int
	err := db.view(func(tx *bolt.Tx) error {
		n = attemptsTx(tx, contactID, window, db.now())
		return nil
	})
	return n, err
}

func attemptsTx(tx *bolt.Tx, contactID string, window time.Duration, now time.Time) int {
	var a linkAttempts
	v := tx.Bucket(bLinkAttempts).Get([]byte(contactID))
	if v == nil || json.Unmarshal(v, &a) != nil || now.Sub(a.Since) >= window {
		return 0
	}
	return a.Count
}

// LinkRequest is a link code presented by a contact.
type LinkRequest struct {
	Code string // as the customer sent it
	By   string // the contact that presented it
	// MaxAttempts > 0 refuses with ErrLinkLimit once By has that many
	// failed attempts within Window.
	MaxAttempts int
	Window      time.Duration
	// Turn is committed in the same transaction for the surviving contact:
	// its ContactID and the contact ids of its messages, events and outbox
	// entries are replaced by the survivor's. Turn.Contact must be nil. Its
	// InboxSeq may name an entry of either contact.
	Turn Turn
	// Session merges the two sessions (see MergeOptions.Session).
	Session func(into, from []byte) ([]byte, error)
}

// LinkResult is what LinkByCode did.
type LinkResult struct {
	MergeResult
	Turn TurnResult
	// Owner is the contact the code was issued to; Absorbed the contact
	// that no longer exists.
	Owner, Absorbed string
}

// LinkByCode uses a link code: in one transaction it checks the code (live,
// not By's own) and the attempt limit, merges the two contacts and commits
// req.Turn for the survivor. The survivor is the contact with an open
// ticket, else the older one (by CreatedAt), else the code's owner. The
// code is used up; on any error nothing is written (the caller records the
// failed attempt with LinkFailed).
func (db *DB) LinkByCode(ctx context.Context, req LinkRequest) (LinkResult, error) {
	if err := validContactID(req.By); err != nil {
		return LinkResult{}, err
	}
	if req.Turn.Contact != nil {
		return LinkResult{}, fmt.Errorf("store: link by %q: the turn must not update the contact", req.By)
	}
	now := db.now()
	var out LinkResult
	err := db.write(ctx, func(tx *bolt.Tx) error {
		if req.MaxAttempts > 0 && attemptsTx(tx, req.By, req.Window, now) >= req.MaxAttempts {
			return fmt.Errorf("store: link by %q: %w", req.By, ErrLinkLimit)
		}
		lc, err := lookupLinkTx(tx, req.Code, req.By, now)
		if err != nil {
			return err
		}
		owner, err := getContact(tx, lc.ContactID)
		if err != nil {
			return err
		}
		by, err := getContact(tx, req.By)
		if err != nil {
			return err
		}
		into, from := owner, by
		open := tx.Bucket(bTicketOpen)
		switch {
		case open.Get([]byte(by.ID)) != nil && open.Get([]byte(owner.ID)) == nil:
			into, from = by, owner
		case open.Get([]byte(owner.ID)) != nil:
		case by.CreatedAt.Before(owner.CreatedAt):
			into, from = by, owner
		}
		reason := "link_" + lc.Kind
		if err := tx.Bucket(bLinkCodes).Delete(linkKey(lc.Code)); err != nil {
			return err
		}
		mr, err := mergeTx(tx, into.ID, from.ID, MergeOptions{Reason: reason, By: "customer", Session: req.Session}, now)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bLinkAttempts).Delete([]byte(into.ID)); err != nil {
			return err
		}
		t := reown(req.Turn, into.ID)
		p, err := db.prepareTurn(t)
		if err != nil {
			return err
		}
		tr, err := p.apply(tx)
		if err != nil {
			return err
		}
		out = LinkResult{MergeResult: mr, Turn: tr, Owner: owner.ID, Absorbed: from.ID}
		return nil
	})
	if err != nil {
		return LinkResult{}, err
	}
	db.outboxDepth.Add(int64(len(out.Turn.OutboxIDs)))
	return out, nil
}

// reown returns a copy of t with every record owned by cid.
func reown(t Turn, cid string) Turn {
	t.ContactID = cid
	t.Messages = append([]Message(nil), t.Messages...)
	for i := range t.Messages {
		t.Messages[i].ContactID = cid
	}
	t.Events = append([]Event(nil), t.Events...)
	for i := range t.Events {
		t.Events[i].ContactID = cid
	}
	t.Outbox = append([]OutboxEntry(nil), t.Outbox...)
	for i := range t.Outbox {
		t.Outbox[i].ContactID = cid
	}
	if t.OpenTicket != nil {
		tk := *t.OpenTicket
		tk.ContactID = cid
		t.OpenTicket = &tk
	}
	return t
}

// dropLinkState removes a contact's link codes and attempt counter.
func dropLinkState(tx *bolt.Tx, cid string) error {
	err := deleteWhere(tx.Bucket(bLinkCodes), func(v []byte) bool {
		var c LinkCode
		return json.Unmarshal(v, &c) != nil || c.ContactID == cid
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bLinkAttempts).Delete([]byte(cid))
}

// deleteWhere deletes the records of b whose value drop picks. The keys are
// collected (as copies) first: a bucket must not change under ForEach.
func deleteWhere(b *bolt.Bucket, drop func(v []byte) bool) error {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if drop(v) {
			keys = append(keys, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
