package webchat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
)

func FuzzDecodeClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello"}`,
		`{"type":"hello","token":"v1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA","identity":"x"}`,
		`{"type":"hello","identity":{"id":"42","ts":1767225600,"sig":"00ff"}}`,
		`{"type":"message","id":"0a1b2c3d4e5f60718293a4b5","text":"Где мой заказ?"}`,
		`{"type":"button","id":"b-1","value":"order","text":"Заказ"}`,
		`{"type":"button","id":"b-1","value":""}`,
		`{"type":"ping"}`,
		`{"type":"message","id":"x","text":"<img src=x onerror=alert(1)>"}`,
		`{"type":"message","id":"x","text":"\u0000\ud800"}`,
		`{"type":"message","id":"x","text":5}`,
		`{"type":["message"]}`,
		`{"type":"message","id":"a:b","text":"hi"}`,
		`{"type":"message","type":"ping"}`,
		`[1,2,3]`,
		`null`,
		"\xff\xfe",
		`{"type":"message","id":"x","text":"` + strings.Repeat("я", 40) + `"}`,
		``,
	} {
		f.Add([]byte(s))
	}
	const maxText = 64
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeClientFrame(b, maxText)
		if err != nil {
			var fe *frameError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *frameError", err, err)
			}
			if fe.Msg == "" || (fe.Code != codeBadFrame && fe.Code != codeTooBig) {
				t.Fatalf("error %+v: want a message and a known code", fe)
			}
			if fe.ID != "" && checkClientID(fe.ID) != nil {
				t.Fatalf("error carries an invalid id %q", fe.ID)
			}
			return
		}
		switch fr.Type {
		case typeHello, typePing:
		case typeMessage, typeButton:
			if err := checkClientID(fr.ID); err != nil {
				t.Fatalf("accepted a bad id: %v", err)
			}
			if len(fr.Text) > maxText || !utf8.ValidString(fr.Text) {
				t.Fatalf("accepted text %q", fr.Text)
			}
			if fr.Type == typeMessage && isBlank(fr.Text) {
				t.Fatal("accepted an empty message")
			}
			if fr.Type == typeButton && (fr.Value == "" || len(fr.Value) > maxValueLen) {
				t.Fatalf("accepted button value %q", fr.Value)
			}
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
	})
}

func TestTokens(t *testing.T) {
	s := signer{secret: testSecret}
	v, tok := s.issue()
	if got, err := s.verify(tok); err != nil || got != v {
		t.Fatalf("verify(issue()) = %q, %v; want %q", got, err, v)
	}
	// Changing any single character of the token makes it invalid; strict
	// base64 also refuses a second spelling of the same bytes.
	for i := range len(tok) {
		for _, c := range []byte("AQgw_-.1v") {
			if tok[i] == c {
				continue
			}
			forged := tok[:i] + string(c) + tok[i+1:]
			if got, err := s.verify(forged); err == nil {
				t.Errorf("forged token %q verified as %q", forged, got)
			}
		}
	}
	if _, err := (signer{secret: []byte("some-other-secret-key")}).verify(tok); err == nil {
		t.Error("a token verified under another secret")
	}
}

// TestFrameEncodersMatchEncodingJSON: the hand-written encoders of the hot
// frames write what json.Marshal writes for the same frame.
func TestFrameEncodersMatchEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 4, 5, 120000000, time.UTC)
	for _, f := range []messageFrame{
		{Type: typeMessage, ID: "17", Text: "Привет! Чем помочь?", At: at},
		{Type: typeMessage, ID: "17.2", Text: "<b>\"x\" & y</b>\n\t\u2028 \xff", At: at.Truncate(time.Second),
			Buttons: []channel.Button{{Text: "Доставка", Value: "delivery"}, {Text: "a\"b", Value: "<v>"}},
			Image:   "https://example.com/a.png?x=1&y=2", Sender: "Анна"},
		{Type: typeMessage, ID: "m-00ff", Text: "", Sender: "Bob", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))},
	} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON:\n got %s\nwant %s", got, want)
		}
	}
	for _, id := range []string{"c-1", "abcDEF_0123456789"} {
		want, _ := json.Marshal(struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}{"ack", id})
		if got := ackJSON(id); string(got) != string(want) {
			t.Errorf("ackJSON(%q) = %s, want %s", id, got, want)
		}
	}
}
