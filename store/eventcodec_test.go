package store

import (
	"reflect"
	"testing"
	"time"
)

var eventSamples = []Event{
	{At: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Type: "message_in", ContactID: "c_1", Data: map[string]string{"channel": "web", "lang": "ru"}},
	{Seq: 7, At: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), Type: "node", Flow: "main", Node: "menu"},
	{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3*3600)), Type: "error", Data: map[string]string{"error": "a \"quoted\" <b>"}},
	{At: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), Type: "ticket.resolved", ContactID: "x_9", Data: map[string]string{"ticket": "3", "outcome": "bot", "заметка": "привет"}},
}

// TestDecodeEventsMatchesEncodingJSON: every record encodeEvent writes (one
// event or a turn's array) reads the same through the fast path and through
// encoding/json; those with escapes take encoding/json's way.
func TestDecodeEventsMatchesEncodingJSON(t *testing.T) {
	var all []byte
	for i, e := range eventSamples {
		b, err := encodeEvent(&e)
		if err != nil {
			t.Fatal(err)
		}
		checkEventRecord(t, b)
		if i == 0 {
			all = append(all, '[')
		} else {
			all = append(all, ',')
		}
		all = append(all, b...)
	}
	checkEventRecord(t, append(all, ']'))
	if _, ok := decodeEventsFast(all); ok {
		t.Error("the fast path took an unterminated array")
	}
	b, _ := encodeEvent(&eventSamples[0])
	if evs, ok := decodeEventsFast(b); !ok || len(evs) != 1 {
		t.Errorf("the fast path refused a plain record %s", b)
	}
}

func checkEventRecord(t *testing.T, b []byte) {
	t.Helper()
	got, err := decodeEvents(b)
	if err != nil {
		t.Fatalf("decodeEvents(%s): %v", b, err)
	}
	want, err := decodeEventsJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decodeEvents(%s)\n got %+v\nwant %+v", b, got, want)
	}
}

// FuzzDecodeEvents: whatever the input, the fast path never decodes
// something other than what encoding/json reads from it.
func FuzzDecodeEvents(f *testing.F) {
	for _, e := range eventSamples {
		b, _ := encodeEvent(&e)
		f.Add(b)
	}
	f.Add([]byte(`[{"at":"2026-01-02T03:04:05Z","type":"a"},{"at":"2026-01-02T03:04:05Z","type":"b","data":{"k":"v"}}]`))
	f.Add([]byte(`{"at":"2026-01-02T03:04:05Z","type":"a","data":{"k":"v","k":"w"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := decodeEventsFast(b)
		if !ok {
			return
		}
		want, err := decodeEventsJSON(b)
		if err != nil {
			t.Fatalf("fast path read %s, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("%s:\nfast %+v\njson %+v", b, fast, want)
		}
	})
}
