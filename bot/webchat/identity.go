package webchat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Signed customer identities. A site that knows who its visitor is (a
// logged-in customer) tells the widget with three attributes on the tag:
//
//	<script src="https://chat.example.com/widget.js"
//	        data-customer-id="42" data-customer-ts="1767225600"
//	        data-customer-sig="<hex HMAC-SHA256(identity secret, "42:1767225600")>" async></script>
//
// The signature is made on the site's server with Config.IdentitySecret
// (PARLEY_WEB_IDENTITY_SECRET), never in the browser. ts is the Unix time of
// signing: a signature older than Config.IdentityMaxAge (or more than five
// minutes in the future) is refused, which bounds the replay of a leaked
// one. A verified customer chats as visitor "site.<id>" (address
// web:site.<id>), whatever browser or device: one contact, one history, and
// the customer's replies reach every open tab of theirs. A forged or stale
// identity closes the connection with status 1008 and a reason starting
// with "identity"; the widget then continues as an anonymous visitor.

// identityFrame is the "identity" member of the hello frame.
type identityFrame struct {
	ID  string `json:"id"`
	TS  int64  `json:"ts"`
	Sig string `json:"sig"`
}

const (
	maxCustomerID = 128
	// identityPrefix starts the visitor id of a verified customer; random
	// visitor ids are hex and never contain a dot.
	identityPrefix = "site."
	futureSkew     = 5 * time.Minute
)

var errBadIdentity = errors.New("identity: signature does not verify")

// validCustomerID: 1-128 of letters, digits and _ . @ + - (no ":", which
// separates the id from the time in the signed message).
func validCustomerID(id string) error {
	if id == "" || len(id) > maxCustomerID {
		return fmt.Errorf("identity: customer id must be 1-%d characters", maxCustomerID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '@' || c == '+' || c == '-'
		if !ok {
			return fmt.Errorf("identity: customer id has %q at byte %d; allowed are letters, digits and _ . @ + -", c, i)
		}
	}
	return nil
}

// SignIdentity returns the signature a site puts in data-customer-sig for
// customer id signed at ts: hex(HMAC-SHA256(secret, id + ":" + ts)). It is
// what the site's server computes (shown here for tests and Go sites).
func SignIdentity(secret []byte, id string, ts int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + ":" + strconv.FormatInt(ts, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// verifyIdentity checks a signed identity and returns the visitor id of
// the customer.
func verifyIdentity(secret []byte, f identityFrame, now time.Time, maxAge time.Duration) (string, error) {
	if err := validCustomerID(f.ID); err != nil {
		return "", err
	}
	signed := time.Unix(f.TS, 0)
	switch {
	case f.TS <= 0:
		return "", errors.New("identity: ts (Unix seconds of signing) is missing")
	case signed.After(now.Add(futureSkew)):
		return "", errors.New("identity: ts is in the future")
	case now.Sub(signed) > maxAge:
		return "", fmt.Errorf("identity: signed %s ago, the limit is %s", now.Sub(signed).Round(time.Second), maxAge)
	}
	got, err := hex.DecodeString(f.Sig)
	if err != nil || len(got) != sha256.Size {
		return "", errBadIdentity
	}
	want, _ := hex.DecodeString(SignIdentity(secret, f.ID, f.TS))
	if !hmac.Equal(got, want) {
		return "", errBadIdentity
	}
	return identityPrefix + f.ID, nil
}
