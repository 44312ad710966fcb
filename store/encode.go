package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/jsonx"
)

// Hand-written JSON encoders for the records every turn writes (messages,
// events, outbox entries). They produce the same JSON documents as
// encoding/json (the records on disk stay JSON and every reader keeps using
// json.Unmarshal), without reflection: encoding/json was the largest CPU
// cost of preparing a turn, and on two cores the preparing goroutines
// compete with the single writer. encode_test.go checks that decoding the
// output gives exactly what decoding json.Marshal's output gives.

func encodeMessage(m *Message) ([]byte, error) {
	return appendMessage(make([]byte, 0, messageSize(m)), m)
}

// messageSize is about the length of m's JSON, so one allocation holds it.
func messageSize(m *Message) int {
	n := 200 + len(m.ContactID) + len(m.Channel) + len(m.Address) + len(m.Text) + len(m.Payload) +
		len(m.Sender) + len(m.SenderName) + 21*len(m.Via)
	for _, bt := range m.Buttons {
		n += 24 + len(bt.Text) + len(bt.Value)
	}
	for _, a := range m.Attachments {
		n += 3 + len(a)
	}
	return n
}

// appendMessage appends m's JSON to b.
func appendMessage(b []byte, m *Message) ([]byte, error) {
	b = append(b, `{"contact_id":`...)
	b = jsonx.AppendString(b, m.ContactID)
	if m.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, m.Seq, 10)
	}
	b = append(b, `,"dir":`...)
	b = jsonx.AppendString(b, m.Dir)
	b = jsonx.AppendOptField(b, `,"channel":`, m.Channel)
	b = jsonx.AppendOptField(b, `,"address":`, m.Address)
	b = jsonx.AppendOptField(b, `,"text":`, m.Text)
	b = jsonx.AppendOptField(b, `,"payload":`, m.Payload)
	if len(m.Buttons) > 0 {
		b = append(b, `,"buttons":[`...)
		for i, bt := range m.Buttons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"text":`...)
			b = jsonx.AppendString(b, bt.Text)
			b = append(b, `,"value":`...)
			b = jsonx.AppendString(b, bt.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(m.Attachments) > 0 {
		b = append(b, `,"attachments":[`...)
		for i, a := range m.Attachments {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, a)
		}
		b = append(b, ']')
	}
	b = jsonx.AppendOptField(b, `,"sender":`, m.Sender)
	b = jsonx.AppendOptField(b, `,"sender_name":`, m.SenderName)
	b = append(b, `,"at":`...)
	b, err := appendJSONTime(b, m.At)
	if err != nil {
		return nil, err
	}
	if len(m.Via) > 0 {
		b = append(b, `,"via":[`...)
		for i, v := range m.Via {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, v, 10)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func encodeEvent(e *Event) ([]byte, error) {
	n := 112 + len(e.ContactID) + len(e.Type) + len(e.Flow) + len(e.Node)
	for k, v := range e.Data {
		n += 6 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	if e.Seq != 0 {
		b = append(b, `"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
		b = append(b, ',')
	}
	b = append(b, `"at":`...)
	b, err := appendJSONTime(b, e.At)
	if err != nil {
		return nil, err
	}
	b = jsonx.AppendOptField(b, `,"contact_id":`, e.ContactID)
	b = append(b, `,"type":`...)
	b = jsonx.AppendString(b, e.Type)
	b = jsonx.AppendOptField(b, `,"flow":`, e.Flow)
	b = jsonx.AppendOptField(b, `,"node":`, e.Node)
	if len(e.Data) > 0 {
		// Sorted like encoding/json, so equal events encode equally.
		var small [4]string
		keys := small[:0]
		for k := range e.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"data":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, k)
			b = append(b, ':')
			b = jsonx.AppendString(b, e.Data[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

func encodeOutbox(o *OutboxEntry) ([]byte, error) {
	b := make([]byte, 0, 168+len(o.ContactID)+len(o.Address)+base64.StdEncoding.EncodedLen(len(o.Data)))
	b = append(b, '{')
	if o.ID != 0 {
		b = append(b, `"id":`...)
		b = strconv.AppendUint(b, o.ID, 10)
		b = append(b, ',')
	}
	b = append(b, `"contact_id":`...)
	b = jsonx.AppendString(b, o.ContactID)
	b = append(b, `,"address":`...)
	b = jsonx.AppendString(b, o.Address)
	b = append(b, `,"data":`...)
	if o.Data == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, o.Data)
		b = append(b, '"')
	}
	if o.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(o.Attempts), 10)
	}
	var err error
	if !o.NotBefore.IsZero() {
		b = append(b, `,"not_before":`...)
		if b, err = appendJSONTime(b, o.NotBefore); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, o.CreatedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSONTime writes t as encoding/json does (RFC 3339 with nanoseconds),
// with its errors for years outside 0..9999.
func appendJSONTime(b []byte, t interface {
	AppendText([]byte) ([]byte, error)
}) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err)
	}
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// encodeInboxTail encodes e without its leading {"seq":N (the writer
// assigns N), in encoding/json's field order so inboxOwnedBy's fast path
// also matches records written before this encoder existed.
func encodeInboxTail(e *InboxEntry) ([]byte, error) {
	b := make([]byte, 0, 96+len(e.EventKey)+base64.StdEncoding.EncodedLen(len(e.Data)))
	b = append(b, `,"contact_id":`...)
	b = jsonx.AppendString(b, e.ContactID)
	b = jsonx.AppendOptField(b, `,"event_key":`, e.EventKey)
	b = append(b, `,"data":`...)
	if e.Data == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, e.Data)
		b = append(b, '"')
	}
	b = append(b, `,"at":`...)
	b, err := appendJSONTime(b, e.At)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// inboxOwnedBy reports whether the stored inbox record v belongs to
// contactID. It runs in the writer for every turn, so the common case is a
// byte comparison: {"seq":N,"contact_id":"<id>" with the id verbatim. An id
// holding a quote, a backslash or invalid UTF-8 may be escaped in the record,
// and any other layout falls back to decoding.
func inboxOwnedBy(v []byte, contactID string) (bool, error) {
	const prefix = `{"seq":`
	if bytes.HasPrefix(v, []byte(prefix)) && !strings.ContainsAny(contactID, `"\`) && utf8.ValidString(contactID) {
		rest := v[len(prefix):]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		rest = rest[i:]
		const key = `,"contact_id":"`
		if i > 0 && len(rest) > len(key)+len(contactID) && string(rest[:len(key)]) == key &&
			string(rest[len(key):len(key)+len(contactID)]) == contactID && rest[len(key)+len(contactID)] == '"' {
			return true, nil
		}
	}
	var e struct {
		ContactID string `json:"contact_id"`
	}
	if err := json.Unmarshal(v, &e); err != nil {
		return false, err
	}
	return e.ContactID == contactID, nil
}
