package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Visitor tokens. The server chooses the visitor id (128 random bits) and
// signs it; the widget keeps the token and presents it on reconnect. The
// client never chooses its id, so one visitor cannot read another's history by
// guessing or copying an id without its token.
//
// Format: "v1." + base64url(id) + "." + base64url(HMAC-SHA256(secret, label+id)[:16]).

const (
	tokenVersion = "v1"
	tokenLabel   = "parley webchat visitor v1\x00"
	visitorBytes = 16
	macBytes     = 16
)

var errBadToken = errors.New("invalid visitor token")

type signer struct{ secret []byte }

func (s signer) mac(id []byte) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(tokenLabel))
	m.Write(id)
	return m.Sum(nil)[:macBytes]
}

// issue makes a new visitor id and its token.
func (s signer) issue() (visitor, token string) {
	id := make([]byte, visitorBytes)
	rand.Read(id) // never returns an error (crypto/rand, Go 1.24+)
	return hex.EncodeToString(id), s.token(id)
}

func (s signer) token(id []byte) string {
	enc := base64.RawURLEncoding
	return tokenVersion + "." + enc.EncodeToString(id) + "." + enc.EncodeToString(s.mac(id))
}

// verify returns the visitor id a token was issued for, or errBadToken.
func (s signer) verify(token string) (string, error) {
	ver, rest, ok := strings.Cut(token, ".")
	if !ok || ver != tokenVersion {
		return "", errBadToken
	}
	idPart, macPart, ok := strings.Cut(rest, ".")
	if !ok {
		return "", errBadToken
	}
	// Strict: no second spelling of the same bytes is accepted.
	enc := base64.RawURLEncoding.Strict()
	id, err := enc.DecodeString(idPart)
	if err != nil || len(id) != visitorBytes {
		return "", errBadToken
	}
	mac, err := enc.DecodeString(macPart)
	if err != nil || len(mac) != macBytes {
		return "", errBadToken
	}
	if !hmac.Equal(mac, s.mac(id)) {
		return "", errBadToken
	}
	return hex.EncodeToString(id), nil
}
