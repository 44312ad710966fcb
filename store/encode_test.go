package store

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// decodeBoth decodes want (from json.Marshal) and got (from the hand-written
// encoder) into fresh values of T and fails unless they are equal: readers
// use json.Unmarshal, so that is the equivalence that matters.
func decodeBoth[T any](t *testing.T, what string, want, got []byte) {
	t.Helper()
	var a, b T
	if err := json.Unmarshal(want, &a); err != nil {
		t.Fatalf("%s: json.Marshal output %s: %v", what, want, err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatalf("%s: encoder output %s is not valid JSON: %v", what, got, err)
	}
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("%s: decoded differently (-json.Marshal +encoder):\n%s\nencoder: %s", what, d, got)
	}
}

var encodeSeeds = []string{"", "plain", "Где мой заказ?", "quote\" back\\slash", "ctl\x00\x01\x1f\n\r\t", "bad\xff\xfeutf8", "<html>&amp;", "\u2028\u2029", "emoji 😀", "\xed\xa0\x80 surrogate"}

func FuzzEncodersMatchJSON(f *testing.F) {
	for i, s := range encodeSeeds {
		f.Add(s, encodeSeeds[(i+1)%len(encodeSeeds)], uint64(i), int64(i)*1e15+7)
	}
	f.Fuzz(func(t *testing.T, s1, s2 string, n uint64, nanos int64) {
		at := time.Unix(0, nanos).UTC()
		m := Message{ContactID: s1, Seq: n, Dir: s2, Channel: s1, Address: s2, Text: s1 + s2, Payload: s2,
			Sender: s1, SenderName: s2, At: at}
		if n%2 == 1 {
			m.Buttons = []Button{{Text: s1, Value: s2}, {}}
			m.Attachments = []string{s2, ""}
			m.Via = []uint64{n, 0}
		}
		checkMessage(t, m)
		e := Event{Seq: n, At: at, ContactID: s2, Type: s1, Flow: s2, Node: s1}
		if n%2 == 0 {
			e.Data = map[string]string{s1: s2, s2 + "x": s1, "": ""}
		}
		checkEvent(t, e)
		o := OutboxEntry{ID: n, ContactID: s1, Address: s2, Data: []byte(s1), Attempts: int(n % 7), CreatedAt: at}
		if n%3 == 0 {
			o.NotBefore = at.Add(time.Minute)
			o.Data = nil
		}
		checkOutbox(t, o)
	})
}

func checkMessage(t *testing.T, m Message) {
	t.Helper()
	want, werr := json.Marshal(m)
	got, gerr := encodeMessage(&m)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("message %+v: json.Marshal error %v, encoder error %v", m, werr, gerr)
	}
	if werr == nil {
		decodeBoth[Message](t, "message", want, got)
	}
}

func checkEvent(t *testing.T, e Event) {
	t.Helper()
	want, werr := json.Marshal(e)
	got, gerr := encodeEvent(&e)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("event %+v: json.Marshal error %v, encoder error %v", e, werr, gerr)
	}
	if werr == nil {
		decodeBoth[Event](t, "event", want, got)
	}
}

func checkOutbox(t *testing.T, o OutboxEntry) {
	t.Helper()
	want, werr := json.Marshal(o)
	got, gerr := encodeOutbox(&o)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("outbox %+v: json.Marshal error %v, encoder error %v", o, werr, gerr)
	}
	if werr == nil {
		decodeBoth[OutboxEntry](t, "outbox", want, got)
	}
}

func TestEncodersMatchJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 20, 0, 0, 123456789, time.UTC)
	zone := time.FixedZone("msk", 3*3600)
	checkMessage(t, Message{ContactID: "c1", Dir: DirIn, Text: "hi", At: at})
	checkMessage(t, Message{ContactID: "c1", Dir: DirOut, At: at.In(zone), Buttons: []Button{{Text: "Меню", Value: "menu"}}, Via: []uint64{3}})
	// Years json.Marshal refuses are refused by the encoders too.
	checkMessage(t, Message{ContactID: "c1", Dir: DirIn, At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	checkEvent(t, Event{At: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), Type: "x"})
	checkEvent(t, Event{At: at, Type: "node", Flow: "f", Node: "n", Data: map[string]string{"b": "2", "a": "1"}})
	checkOutbox(t, OutboxEntry{ContactID: "c1", Address: "telegram:1", Data: []byte{}, CreatedAt: at})
	checkOutbox(t, OutboxEntry{ContactID: "c1", Address: "telegram:1", Data: []byte{0, 255, 10}, Attempts: 2, NotBefore: at, CreatedAt: at})

	// Deterministic: the same event always encodes to the same bytes.
	e := Event{At: at, Type: "t", Data: map[string]string{"z": "1", "y": "2", "x": "3"}}
	first, err := encodeEvent(&e)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := encodeEvent(&e)
		if string(again) != string(first) {
			t.Fatalf("event encoding varies: %s vs %s", first, again)
		}
	}
	if want := `{"at":"2026-11-23T20:00:00.123456789Z","type":"t","data":{"x":"3","y":"2","z":"1"}}`; string(first) != want {
		t.Errorf("event encoding %s, want %s", first, want)
	}
}

func TestInboxRecordMatchesJSON(t *testing.T) {
	at := time.Date(2026, 11, 23, 20, 0, 0, 5, time.UTC)
	for i, cid := range []string{"c1", "a<b&c>", `q"uote`, `back\slash`, "bad\xffutf8", "Иван", "\u2028"} {
		for _, data := range [][]byte{nil, {}, []byte(`{"text":"Где мой заказ?"}`)} {
			e := InboxEntry{Seq: uint64(i + 1), ContactID: cid, EventKey: "tg:" + cid, Data: data, At: at}
			want, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			tail, err := encodeInboxTail(&e)
			if err != nil {
				t.Fatal(err)
			}
			got := append(strconv.AppendUint([]byte(`{"seq":`), e.Seq, 10), tail...)
			decodeBoth[InboxEntry](t, "inbox "+cid, want, got)

			// Both the old (json.Marshal) and the new record are recognised
			// as the contact's, and as nobody else's.
			var dec InboxEntry
			_ = json.Unmarshal(want, &dec)
			for _, rec := range [][]byte{want, got} {
				if ok, err := inboxOwnedBy(rec, dec.ContactID); !ok || err != nil {
					t.Errorf("inboxOwnedBy(%s, %q) = %v, %v; want true", rec, dec.ContactID, ok, err)
				}
				for _, other := range []string{dec.ContactID[:len(dec.ContactID)-1], dec.ContactID + "x", "c"} {
					if ok, err := inboxOwnedBy(rec, other); ok || err != nil {
						t.Errorf("inboxOwnedBy(%s, %q) = %v, %v; want false", rec, other, ok, err)
					}
				}
			}
		}
	}
	if _, err := inboxOwnedBy([]byte(`{"seq":1,"contact_id":`), "c1"); err == nil {
		t.Error("inboxOwnedBy accepted a truncated record")
	}
}

// BenchmarkInboxWriterWork is the per-message work the inbox record costs
// inside the single writer: before, json.Marshal at Enqueue and
// json.Unmarshal at the turn; now, a splice and a byte comparison.
func BenchmarkInboxWriterWork(b *testing.B) {
	e := InboxEntry{Seq: 123456, ContactID: "01JDX4Q7Z8K2M5N9P3R6T0V8W1", EventKey: "tg:987654321",
		Data: []byte(`{"text":"Где мой заказ? Номер 123456, оформлял вчера","from":"telegram:100","message_id":42}`), At: time.Now().UTC()}
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			v, _ := json.Marshal(e)
			var d struct {
				ContactID string `json:"contact_id"`
			}
			_ = json.Unmarshal(v, &d)
		}
	})
	tail, _ := encodeInboxTail(&e)
	b.Run("splice", func(b *testing.B) {
		for b.Loop() {
			rec := make([]byte, 0, len(`{"seq":`)+20+len(tail))
			rec = strconv.AppendUint(append(rec, `{"seq":`...), e.Seq, 10)
			rec = append(rec, tail...)
			if ok, _ := inboxOwnedBy(rec, e.ContactID); !ok {
				b.Fatal("not owned")
			}
		}
	})
}
