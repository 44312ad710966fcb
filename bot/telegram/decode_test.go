package telegram

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
)

// Every official example update decodes without a panic into either an
// event or a stated reason to skip it. They predate fields the current spec
// calls required (chat.type, file_unique_id), and one has a numeric
// inline_query id where the library wants a string.
func TestDecodeOfficialExamples(t *testing.T) {
	want := map[string]string{ // file -> "handle" or the ignore reason's prefix
		"callback_query":            "handle",
		"chosen_inline_query":       "update kind not handled",
		"edited_message":            "edited message",
		"forwarded_channel_message": "handle",
		"forwarded_message":         "handle",
		"inline_query":              "undecodable",
		"message_text_minimal":      "handle",
		"message_with_a_document":   "handle",
		"message_with_a_reply":      "handle",
		"message_with_audio":        "handle",
		"message_with_entities":     "handle",
		"message_with_text":         "handle",
		"voice_message":             "handle",
	}
	files, _ := filepath.Glob(filepath.Join(samplesDir(), "official-example_*.json"))
	if len(files) == 0 {
		t.Skipf("protocol samples not found in %s", samplesDir())
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "official-example_"), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := decodeUpdate(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			got := "handle"
			if d.Ignore != "" {
				got = d.Ignore
			}
			w, known := want[name]
			if !known {
				t.Fatalf("new sample %s: add its expected outcome (got %q)", name, got)
			}
			if !strings.HasPrefix(got, w) {
				t.Errorf("outcome %q, want %q", got, w)
			}
			if d.UpdateID != 10000 {
				t.Errorf("update_id %d, want 10000", d.UpdateID)
			}
			if got == "handle" {
				checkInbound(t, d)
			}
		})
	}
}

// The mapping details that the adapter table does not reach.
func TestDecodeMapping(t *testing.T) {
	tests := []struct {
		name, raw string
		want      channel.Inbound // EventID, From and At are not compared
		ignore    string
	}{
		{name: "voice, audio, sticker, location and contact become attachments",
			raw: `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"A","language_code":"EN-gb"},` +
				`"voice":{"file_id":"V","duration":2},"audio":{"file_id":"AU","duration":3,"performer":"P","title":"T"},` +
				`"sticker":{"file_id":"S","emoji":"🙂","width":1,"height":1},"location":{"latitude":55.75,"longitude":37.6175},` +
				`"contact":{"phone_number":"+79990000000","first_name":"Б"}}}`,
			want: channel.Inbound{Name: "A", Lang: "en", Profile: map[string]string{"name": "A"}, Attachments: []channel.Attachment{
				{Kind: "voice", URL: "tg-file:V"}, {Kind: "audio", URL: "tg-file:AU", Name: "P – T"},
				{Kind: "sticker", URL: "tg-file:S", Name: "🙂"}, {Kind: "location", URL: "geo:55.75,37.6175"},
				{Kind: "contact", URL: "tel:+79990000000", Name: "Б"}}}},
		{name: "/start@Bot in a group keeps the ref; a GIF is one document",
			raw: `{"update_id":2,"message":{"message_id":1,"date":1,"chat":{"id":-5,"type":"group"},"from":{"id":6,"username":"u","language_code":"x1"},` +
				`"text":"/start@parley_bot  abc-1 ","document":{"file_id":"D","file_name":"a.gif"},"animation":{"file_id":"D","file_name":"a.gif","width":1,"height":1,"duration":1}}}`,
			want: channel.Inbound{Text: "/start", Ref: "abc-1", Name: "u", Profile: map[string]string{"username": "u"},
				Attachments: []channel.Attachment{{Kind: "document", URL: "tg-file:D", Name: "a.gif"}}}},
		{name: "/starting is not a deep link",
			raw:  `{"update_id":3,"message":{"message_id":1,"date":1,"chat":{"id":5},"text":"/starting now"}}`,
			want: channel.Inbound{Text: "/starting now"}},
		{name: "a button missing from the keyboard has no label",
			raw: `{"update_id":4,"callback_query":{"id":"c","from":{"id":5,"first_name":"A"},"data":"gone",` +
				`"message":{"message_id":1,"date":1,"chat":{"id":5},"reply_markup":{"inline_keyboard":[[{"text":"L","callback_data":"other"}]]}}}}`,
			want: channel.Inbound{Payload: "gone", Name: "A", Profile: map[string]string{"name": "A"}}},
		{name: "service message", ignore: "service message",
			raw: `{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":-5},"new_chat_members":[{"id":1,"first_name":"x"}]}}`},
		{name: "message from a bot", ignore: "message from a bot",
			raw: `{"update_id":6,"message":{"message_id":1,"date":1,"chat":{"id":5},"from":{"id":9,"is_bot":true},"text":"hi"}}`},
		{name: "message without chat", ignore: "message without chat",
			raw: `{"update_id":7,"message":{"message_id":1,"date":1,"text":"hi"}}`},
		{name: "game button", ignore: "callback without data",
			raw: `{"update_id":8,"callback_query":{"id":"c","from":{"id":5},"game_short_name":"g"}}`},
		{name: "chat id 0", ignore: "chat id 0",
			raw: `{"update_id":10,"message":{"message_id":1,"date":1,"chat":{"id":0,"type":"private"},"from":{"id":0,"first_name":"x"},"text":"hi"}}`},
		{name: "button in chat id 0", ignore: "chat id 0",
			raw: `{"update_id":11,"callback_query":{"id":"c","from":{"id":5},"data":"x","message":{"message_id":1,"date":1,"chat":{"id":0}}}}`},
		{name: "inline-mode button of user 0", ignore: "chat id 0",
			raw: `{"update_id":12,"callback_query":{"id":"c","from":{"id":0},"data":"x"}}`},
		{name: "channel post", ignore: "update kind not handled",
			raw: `{"update_id":9,"channel_post":{"message_id":1,"date":1,"chat":{"id":-100},"text":"news"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeUpdate([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if d.Ignore != tc.ignore {
				t.Fatalf("ignore %q, want %q", d.Ignore, tc.ignore)
			}
			if tc.ignore != "" {
				return
			}
			checkInbound(t, d)
			got := d.In
			got.EventID, got.From, got.At = "", channel.Address{}, tc.want.At
			if diff := diff(tc.want, got); diff != "" {
				t.Errorf("inbound (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, raw := range []string{``, `{`, `null`, `[]`, `"x"`, `{"message":{}}`, `{"update_id":"7"}`, `{"update_id":1.5}`} {
		if d, err := decodeUpdate([]byte(raw)); err == nil {
			t.Errorf("decodeUpdate(%q) = %+v, want an error", raw, d)
		}
	}
	if _, err := decodeUpdate([]byte(`{"x":1}`)); !errors.Is(err, errNoUpdateID) {
		t.Errorf("no update_id: %v", err)
	}
}

// checkInbound asserts what every handled event must satisfy.
func checkInbound(t *testing.T, d decoded) {
	t.Helper()
	in := d.In
	if in.EventID != "tg:"+strconv.Itoa(d.UpdateID) {
		t.Errorf("EventID %q for update %d", in.EventID, d.UpdateID)
	}
	if in.From.Channel != channel.Telegram {
		t.Errorf("From.Channel %q", in.From.Channel)
	}
	if _, err := strconv.ParseInt(in.From.ID, 10, 64); err != nil {
		t.Errorf("From.ID %q is not a chat id", in.From.ID)
	}
	if _, err := channel.ParseAddress(in.From.String()); err != nil {
		t.Errorf("From: %v", err)
	}
	if in.Text == "" && in.Payload == "" && len(in.Attachments) == 0 {
		t.Errorf("handled event carries nothing: %+v", in)
	}
	for _, s := range []string{in.Text, in.Payload, in.Name, in.Ref, in.Lang} {
		if !utf8.ValidString(s) {
			t.Errorf("invalid UTF-8 %q", s)
		}
	}
	for _, at := range in.Attachments {
		if at.Kind == "" || at.URL == "" {
			t.Errorf("attachment without kind or reference: %+v", at)
		}
	}
	if (d.CallbackID != "") != (in.Payload != "") {
		t.Errorf("callback id %q with payload %q", d.CallbackID, in.Payload)
	}
}

// FuzzDecodeUpdate: whatever Telegram (or a forger past the secret) sends,
// decoding never panics, and a handled event is well formed.
func FuzzDecodeUpdate(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(samplesDir(), "official-example_*.json"))
	for _, file := range files {
		if raw, err := os.ReadFile(file); err == nil {
			f.Add(raw)
		}
	}
	for _, s := range []string{
		textUpdate(1, 42, "/start ref"), pressUpdate, photoUpdate,
		`{"update_id":1}`, `{"update_id":-1,"message":{"chat":{"id":0},"text":""}}`,
		`{"update_id":2,"callback_query":{"id":"c","from":{"id":1},"data":"x","message":{"chat":{"id":3},"reply_markup":{"inline_keyboard":[[{"text":"a"}],[]]}}}}`,
		`{"update_id":3,"message":{"chat":{"id":1},"photo":[]}}`,
		`{"update_id":4,"message":{"chat":{"id":1},"from":{"id":1,"language_code":"ру"},"text":"\u0000"}}`,
		`{"update_id":5,"edited_message":{"chat":{"id":1}}}`, `{`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := decodeUpdate(raw)
		if err != nil || d.Ignore != "" {
			return
		}
		in := d.In
		if in.EventID != "tg:"+strconv.Itoa(d.UpdateID) || in.From.Channel != channel.Telegram {
			t.Fatalf("bad event %+v from %q", in, raw)
		}
		if _, err := strconv.ParseInt(in.From.ID, 10, 64); err != nil {
			t.Fatalf("From.ID %q from %q", in.From.ID, raw)
		}
		if in.Text == "" && in.Payload == "" && len(in.Attachments) == 0 {
			t.Fatalf("empty handled event from %q", raw)
		}
		if in.Lang != "" && language(in.Lang) != in.Lang {
			t.Fatalf("Lang %q not normalised", in.Lang)
		}
	})
}
