package vk

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/parley-chat/parley/bot/channel"
)

// An unauthenticated body of 1 MiB is refused without being parsed: the
// handler allocates far less than the body (the body is read into a pooled
// buffer and only the top-level secret, group id and type are looked at),
// and its log line stays short though the attacker's "type" is 1 MiB.
func TestCallbackRejectsBeforeParsing(t *testing.T) {
	var logs bytes.Buffer
	a, err := New(Config{Token: testToken, GroupID: testGroup, Mode: ModeCallback, Secret: testSecret,
		Confirmation: testConfirmation, Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	handled := 0
	cb := a.CallbackHandler(channel.HandlerFunc(func(context.Context, channel.Inbound) error { handled++; return nil }))
	pad := strings.Repeat("x", maxBodyBytes-200)
	bodies := map[string]string{
		"huge type":   `{"type":"` + pad + `","group_id":4242,"secret":"guess"}`,
		"huge object": `{"type":"message_new","group_id":4242,"object":{"message":{"text":"` + pad + `"}},"secret":"guess"}`,
	}
	for name, body := range bodies {
		post := func() int {
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hooks/vk", strings.NewReader(body)))
			return rec.Code
		}
		if code := post(); code != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", name, code)
		}
		// The least of five batches: a GC may empty the buffer pool once.
		const runs = 10
		per := uint64(1 << 62)
		for range 5 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				post()
			}
			runtime.ReadMemStats(&after)
			per = min(per, (after.TotalAlloc-before.TotalAlloc)/runs)
		}
		if per > 64<<10 && !raceEnabled {
			t.Errorf("%s: %d bytes allocated per rejected request of %d bytes, want under 64 KiB (no copy, no parse)", name, per, len(body))
		}
	}
	if handled != 0 {
		t.Errorf("handler called %d times for forged requests", handled)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if len(line) > 512 {
			t.Errorf("log line of %d bytes: %.200s...", len(line), line)
		}
	}
	if !strings.Contains(logs.String(), "wrong secret or group id") {
		t.Errorf("the rejection is not logged:\n%.500s", logs.String())
	}
}

// peekTop finds what encoding/json finds at the top level, whatever comes
// before and in between.
func TestPeekTopAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{
		messageNewBody, messageEventBody, noEventIDBody,
		`{"object":{"secret":"inner","s":"}]\"{"},"secret":"s3cret-callback","group_id":4242,"type":"message_new"}`,
		`{"secret":"first","secret":"second","group_id":1,"group_id":4242}`,
		`{"SECRET":"s3cret-callback","Group_ID":4242,"TYPE":"confirmation"}`,
		`{"secret":"s3cr\u0065t-callback","type":"x\"y","group_id":4242}`,
		` { "type" : "a" , "arr" : [1, [2, {"x": "]"}], true, null] , "secret" : "b" } `,
		`{}`,
	} {
		var ev envelope
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		f, err := peekTop([]byte(body))
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if string(f.secret) != ev.Secret || string(f.typ) != ev.Type || f.groupID != ev.GroupID {
			t.Errorf("%s: peekTop = %q %q %d, encoding/json = %q %q %d", body, f.secret, f.typ, f.groupID, ev.Secret, ev.Type, ev.GroupID)
		}
	}
	for _, bad := range []string{``, `[]`, `{"type":"message_new",`, `{"a" 1}`, `{"a":"unterminated}`, `{"a":{"b":1}`, `"x"`} {
		if _, err := peekTop([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzPeekTop: on any body encoding/json accepts as an object, peekTop
// finds the same secret (where it is short, valid UTF-8: encoding/json
// replaces invalid bytes, and the handler refuses when the two disagree)
// and group id, and it never panics.
func FuzzPeekTop(f *testing.F) {
	for _, s := range []string{messageNewBody, messageEventBody, `{"secret":"a\"b","group_id":-1}`, `{"x":[{"]":"["}],"secret":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		top, err := peekTop(b)
		var ev envelope
		if json.Unmarshal(b, &ev) != nil || err != nil {
			return
		}
		if string(top.secret) != ev.Secret && len(top.secret) <= 254 && utf8.Valid(top.secret) {
			t.Errorf("%q: secret %q, encoding/json %q", b, top.secret, ev.Secret)
		}
		if top.groupID != ev.GroupID {
			t.Errorf("%q: group id %d, encoding/json %d", b, top.groupID, ev.GroupID)
		}
	})
}
