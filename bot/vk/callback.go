package vk

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/parley-chat/parley/bot/channel"
)

// answerTimeout bounds messages.sendMessageEventAnswer inside a Callback API
// request: VK waits only a few seconds for "ok" before it redelivers.
const answerTimeout = 3 * time.Second

// CallbackHandler serves the Callback API (mount it at POST /hooks/vk).
//
// Order of checks, so that nothing forged is ever handled and a forged
// request costs little: the body is read into a pooled buffer with a 1 MiB
// limit (else 413); only its top level is scanned, without decoding, for
// the secret, the group id and the type (not a JSON object: 400); the
// secret is compared in constant time and the group id checked (else 401,
// for the confirmation request too); only then is the event parsed. A
// "confirmation" request is answered with Config.Confirmation. message_new
// and message_event are recorded through h; only when h returned nil does
// VK get "ok" (an error answers 500, and VK redelivers the same event_id).
// Pressed callback buttons are then answered with
// messages.sendMessageEventAnswer so the button stops spinning. Other event
// types are acknowledged with "ok" and ignored. Values from the request are
// logged cut to logFieldMax bytes.
func (a *Adapter) CallbackHandler(h channel.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "vk callback: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		buf := bodyPool.Get().(*bytes.Buffer)
		defer putBody(buf)
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "vk callback: body larger than 1 MiB", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "vk callback: cannot read body", http.StatusBadRequest)
			return
		}
		body := buf.Bytes()
		top, err := peekTop(body)
		if err != nil {
			a.log.Warn().Str("remote", clipLog(r.RemoteAddr)).Err(err).Msg("vk callback: malformed request")
			http.Error(w, "vk callback: malformed event", http.StatusBadRequest)
			return
		}
		if !a.authentic(top.secret, top.groupID) {
			a.log.Warn().Str("remote", clipLog(r.RemoteAddr)).Bytes("type", clipBytes(top.typ)).Int64("group_id", top.groupID).
				Msg("vk callback: rejected: wrong secret or group id")
			http.Error(w, "vk callback: wrong secret or group id", http.StatusUnauthorized)
			return
		}
		ev, err := parseEnvelope(body)
		if err != nil {
			a.log.Warn().Str("remote", clipLog(r.RemoteAddr)).Err(err).Msg("vk callback: malformed request")
			http.Error(w, "vk callback: malformed event", http.StatusBadRequest)
			return
		}
		if !a.authentic([]byte(ev.Secret), ev.GroupID) {
			// The scan and the parser disagree (duplicate keys, escapes):
			// trust neither.
			a.log.Warn().Str("remote", clipLog(r.RemoteAddr)).Msg("vk callback: rejected: ambiguous secret or group id")
			http.Error(w, "vk callback: wrong secret or group id", http.StatusUnauthorized)
			return
		}
		if ev.Type == typeConfirmation {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, a.cfg.Confirmation)
			return
		}
		d, err := decodeEvent(ev, a.now())
		switch {
		case errors.Is(err, errIgnored):
			writeOK(w)
			return
		case err != nil:
			a.log.Warn().Str("event_id", clipLog(ev.EventID)).Err(err).Msg("vk callback: malformed event")
			http.Error(w, "vk callback: malformed event object", http.StatusBadRequest)
			return
		}
		d.in.Queue = true // answer "ok" without waiting for the turn
		if err := a.deliver(r.Context(), h, d); err != nil {
			// Not recorded: a 5xx makes VK redeliver the event later.
			a.log.Error().Str("event_id", clipLog(d.in.EventID)).Err(err).Msg("vk callback: handler failed, VK will redeliver")
			http.Error(w, "vk callback: not recorded, retry", http.StatusInternalServerError)
			return
		}
		writeOK(w)
	})
}

// authentic reports whether a request comes from VK for our community: the
// secret is required for every event, the confirmation request included
// (VK sends it there too once a secret is set, and the confirmation string
// is what proves the server to VK, so it is not given to anyone who asks).
func (a *Adapter) authentic(secret []byte, groupID int64) bool {
	secretOK := subtle.ConstantTimeCompare(secret, []byte(a.cfg.Secret)) == 1
	return secretOK && groupID == a.cfg.GroupID
}

// logFieldMax bounds a value from a request in a log line.
const logFieldMax = 64

func clipLog(s string) string {
	if len(s) > logFieldMax {
		return s[:logFieldMax] + "…"
	}
	return s
}

func clipBytes(b []byte) []byte {
	if len(b) > logFieldMax {
		return b[:logFieldMax]
	}
	return b
}

// bodyPool keeps request buffers, so a forged request allocates almost
// nothing; a buffer stays at most 1 MiB (maxBodyBytes).
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBody(b *bytes.Buffer) {
	b.Reset()
	bodyPool.Put(b)
}

// deliver records one decoded event through h and, only after h accepted
// it, remembers the client's capabilities and answers a callback button.
func (a *Adapter) deliver(ctx context.Context, h channel.Handler, d decoded) error {
	if err := h.HandleInbound(ctx, d.in); err != nil {
		return err
	}
	peer := d.in.From.ID
	if d.caps != nil {
		if id, err := parsePeer(peer); err == nil {
			a.peers.setCaps(id, *d.caps, a.now())
		}
	}
	if d.answer != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), answerTimeout)
		defer cancel()
		if err := a.answerEvent(actx, *d.answer); err != nil {
			// The event is recorded; a spinning button is cosmetic.
			a.log.Warn().Str("event_id", d.in.EventID).Err(err).Msg("vk: sendMessageEventAnswer failed")
		}
	}
	return nil
}

func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

// topFields are what decides whether a Callback API request is handled at
// all, as bytes of the body (valid until the buffer goes back to the pool).
type topFields struct {
	secret, typ []byte
	groupID     int64
}

var errNotObject = errors.New("vk: event is not a JSON object")

// peekTop scans the top level of a JSON object for "secret", "group_id" and
// "type" without decoding anything else: nested values are skipped by
// counting brackets outside strings, which allocates nothing. Keys match
// without regard to case and a repeated key counts last, as in
// encoding/json; the handler checks the parsed event again anyway. The
// full syntax is left to the parser, after authentication.
func peekTop(b []byte) (topFields, error) {
	var f topFields
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return f, errNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return f, nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return f, errNotObject
		}
		end, err := skipString(b, i)
		if err != nil {
			return f, err
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return f, errNotObject
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return f, errNotObject
		}
		vstart := i
		if i, err = skipValue(b, i); err != nil {
			return f, err
		}
		val := b[vstart:i]
		switch {
		case bytes.EqualFold(key, []byte("secret")):
			f.secret = stringValue(val)
		case bytes.EqualFold(key, []byte("type")):
			f.typ = stringValue(val)
		case bytes.EqualFold(key, []byte("group_id")):
			f.groupID, _ = strconv.ParseInt(string(val), 10, 64)
		}
		i = skipSpace(b, i)
		switch {
		case i >= len(b):
			return f, errNotObject
		case b[i] == '}':
			return f, nil
		case b[i] != ',':
			return f, errNotObject
		}
		i = skipSpace(b, i+1)
	}
	return f, errNotObject
}

// stringValue is the content of a JSON string token; a short one with
// escapes is unescaped, anything else is returned as it is (it then matches
// no configured secret).
func stringValue(tok []byte) []byte {
	if len(tok) < 2 || tok[0] != '"' {
		return tok
	}
	inner := tok[1 : len(tok)-1]
	if bytes.IndexByte(inner, '\\') < 0 || len(tok) > 256 {
		return inner
	}
	var s string
	if json.Unmarshal(tok, &s) != nil {
		return inner
	}
	return []byte(s)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] ('"').
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errNotObject
}

// skipValue returns the index after the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errNotObject
	}
	j := i // a number, true, false or null
	for j < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[j])) {
		j++
	}
	if j == i {
		return 0, errNotObject
	}
	return j, nil
}
