package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeEvents reads an events record: one event, or the JSON array of a
// turn's events. Analytics reads every event of a period, so the records
// encodeEvent writes are read without reflection; anything else (a string
// with an escape, a record from another writer) goes to encoding/json.
func decodeEvents(v []byte) ([]Event, error) {
	if evs, ok := decodeEventsFast(v); ok {
		return evs, nil
	}
	return decodeEventsJSON(v)
}

// decodeEventsJSON reads an events record with encoding/json.
func decodeEventsJSON(v []byte) ([]Event, error) {
	if len(v) > 0 && v[0] == '[' {
		var evs []Event
		err := json.Unmarshal(v, &evs)
		return evs, err
	}
	var e Event
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, err
	}
	return []Event{e}, nil
}

// decodeEventsFast decodes what encodeEvent writes (fields in its order,
// strings without escapes), alone or in an array; ok is false for anything
// else, and then nothing it decoded is used.
func decodeEventsFast(v []byte) ([]Event, bool) {
	d := eventDecoder{b: v}
	if d.peek() != '[' {
		var e Event
		if !d.event(&e) || d.i != len(d.b) {
			return nil, false
		}
		return []Event{e}, true
	}
	d.i++
	evs := make([]Event, 0, bytes.Count(v, []byte(`"type":`)))
	for {
		evs = append(evs, Event{})
		if !d.event(&evs[len(evs)-1]) {
			return nil, false
		}
		switch d.next() {
		case ',':
			continue
		case ']':
			return evs, d.i == len(d.b)
		}
		return nil, false
	}
}

type eventDecoder struct {
	b []byte
	i int
}

func (d *eventDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *eventDecoder) next() byte {
	c := d.peek()
	d.i++
	return c
}

// lit consumes s if the input continues with it.
func (d *eventDecoder) lit(s string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (encoding/json would replace what is not), as a copy.
func (d *eventDecoder) str() (string, bool) {
	if d.next() != '"' {
		return "", false
	}
	start, ascii := d.i, true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			raw := d.b[start:d.i]
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			d.i++
			return string(raw), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return "", false
}

// event reads {"seq"?,"at","contact_id"?,"type","flow"?,"node"?,"data"?}.
func (d *eventDecoder) event(e *Event) bool {
	if !d.lit(`{`) {
		return false
	}
	if d.lit(`"seq":`) {
		j := d.i
		for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
			j++
		}
		n, err := strconv.ParseUint(string(d.b[d.i:j]), 10, 64)
		if err != nil || !(j < len(d.b) && d.b[j] == ',') {
			return false
		}
		e.Seq, d.i = n, j+1
	}
	if !d.lit(`"at":`) {
		return false
	}
	start := d.i
	if _, ok := d.str(); !ok || e.At.UnmarshalJSON(d.b[start:d.i]) != nil {
		return false // as encoding/json parses it, strictness included
	}
	var ok bool
	if d.lit(`,"contact_id":`) {
		if e.ContactID, ok = d.str(); !ok || e.ContactID == "" {
			return false
		}
	}
	if !d.lit(`,"type":`) {
		return false
	}
	if e.Type, ok = d.str(); !ok {
		return false
	}
	if d.lit(`,"flow":`) {
		if e.Flow, ok = d.str(); !ok || e.Flow == "" {
			return false
		}
	}
	if d.lit(`,"node":`) {
		if e.Node, ok = d.str(); !ok || e.Node == "" {
			return false
		}
	}
	if d.lit(`,"data":{`) {
		e.Data = make(map[string]string, 4)
		for {
			k, ok := d.str()
			if !ok || d.next() != ':' {
				return false
			}
			v, ok := d.str()
			if !ok {
				return false
			}
			if _, dup := e.Data[k]; dup {
				return false // encoding/json keeps the last; leave it to it
			}
			e.Data[k] = v
			if d.peek() == ',' {
				d.i++
				continue
			}
			if d.next() != '}' {
				return false
			}
			break
		}
	}
	return d.next() == '}'
}
