package vk

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/parley-chat/parley/bot/channel"
)

func TestNewValidates(t *testing.T) {
	good := Config{Token: "t", GroupID: 1, Secret: "s", Confirmation: "c"}
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr []string // substrings; none = valid
	}{
		{name: "callback defaults", edit: func(*Config) {}},
		{name: "longpoll needs no secret", edit: func(c *Config) { c.Mode, c.Secret, c.Confirmation = ModeLongPoll, "", "" }},
		{name: "everything wrong at once", edit: func(c *Config) {
			*c = Config{APIURL: "ftp://x", GroupID: -5, Mode: "webhook", PollWait: time.Hour}
		}, wantErr: []string{"Token is empty", "GroupID must be the community's positive id, got -5", `APIURL "ftp://x"`, `Mode "webhook"`, "PollWait 1h0m0s"}},
		{name: "callback without secret and confirmation", edit: func(c *Config) { c.Secret, c.Confirmation = "", "" },
			wantErr: []string{"Secret is required in callback mode", "Confirmation is required in callback mode"}},
		{name: "client timeout shorter than the long poll", edit: func(c *Config) {
			c.Mode, c.HTTPClient = ModeLongPoll, &http.Client{Timeout: 10 * time.Second}
		}, wantErr: []string{"HTTPClient.Timeout 10s must exceed PollWait 25s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			a, err := New(cfg)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if a.cfg.APIURL != DefaultAPIURL || a.cfg.APIVersion != DefaultAPIVersion || a.cfg.PollWait != DefaultPollWait {
					t.Errorf("defaults not applied: %+v", a.cfg)
				}
				if a.vk.MethodURL != DefaultAPIURL+"/method/" {
					t.Errorf("MethodURL = %q", a.vk.MethodURL)
				}
				return
			}
			if err == nil {
				t.Fatal("New accepted a bad config")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRandomIDIsStablePositiveInt32(t *testing.T) {
	// The value is part of the protocol with VK: changing the derivation
	// would let a retry after an upgrade post twice.
	if got, want := randomID("outbox:42"), randomID("outbox:42"); got != want {
		t.Fatalf("not stable: %d vs %d", got, want)
	}
	seen := map[int32]string{}
	for i := range 10000 {
		k := "entry-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String()
		id := randomID(k)
		if id <= 0 {
			t.Fatalf("randomID(%q) = %d, want > 0", k, id)
		}
		if prev, dup := seen[id]; dup && prev != k {
			t.Fatalf("collision between %q and %q", prev, k)
		}
		seen[id] = k
	}
}

func TestPeerTableEvictsIdle(t *testing.T) {
	tab := newPeerTable(time.Minute)
	t0 := time.Unix(0, 0)
	for i := range int64(1000) {
		tab.get(i, t0)
	}
	tab.setCaps(7, clientCaps{known: true}, t0)
	if n := tab.len(); n != 1000 {
		t.Fatalf("len = %d, want 1000", n)
	}
	// Only peer 5 stays busy; after the ttl everything else goes.
	tab.get(5, t0.Add(90*time.Second))
	tab.get(6, t0.Add(2*time.Minute))
	if n := tab.len(); n != 2 {
		t.Fatalf("after idle sweep len = %d, want 2 (peers 5 and 6)", n)
	}
	if c := tab.caps(7, t0.Add(2*time.Minute)); c.known {
		t.Errorf("evicted peer kept its capabilities")
	}
}

func TestSplitText(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("слово ", 1000)) // 5999 runes
	parts := splitText(long, maxTextRunes)
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	for _, p := range parts {
		if n := utf8.RuneCountInString(p); n > maxTextRunes || !utf8.ValidString(p) {
			t.Errorf("part of %d runes (valid UTF-8: %v)", n, utf8.ValidString(p))
		}
		if strings.HasPrefix(p, " ") || strings.HasSuffix(p, " ") || strings.Contains(p, "сло во") {
			t.Errorf("cut inside a word or left spaces: %q...", string([]rune(p)[:20]))
		}
	}
	if got := strings.Join(parts, " "); got != long {
		t.Errorf("text changed by splitting")
	}
	if diff := cmp.Diff([]string{"short"}, splitText("short", maxTextRunes)); diff != "" {
		t.Error(diff)
	}
}

func TestRenderLongTextWithChoicesSplitsAndKeepsKeyboardOff(t *testing.T) {
	text := strings.Repeat("а", maxTextRunes-5)
	buttons := []channel.Button{{Text: strings.Repeat("б", 41), Value: "x"}}
	msgs := render(channel.Outbound{Text: text, Buttons: buttons}, clientCaps{})
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	if msgs[0].text != text || msgs[1].text != "1. "+strings.Repeat("б", 41) {
		t.Errorf("unexpected split: %d + %q", len(msgs[0].text), msgs[1].text)
	}
}

// FuzzDecode feeds arbitrary Callback API / Long Poll bodies to the decoder:
// it must never panic, and whatever it accepts must be a usable event.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		messageNewBody, messageEventBody, textButtonBody, startButtonBody, noEventIDBody, noInlineBody,
		`{"type":"message_new","object":{"peer_id":5,"text":"old API: message is the object","id":3}}`,
		`{"type":"message_new","object":{"message":{"peer_id":1,"payload":"not json","id":1}}}`,
		`{"type":"message_new","object":{"message":{"peer_id":1,"payload":"{\"v\":1}","id":1}}}`,
		`{"type":"message_event","event_id":"e","object":{"peer_id":1,"payload":"[1,2]"}}`,
		`{"type":"message_new","object":{"message":{"peer_id":1,"id":1,"attachments":[{"type":"photo","photo":{"sizes":[{"src":"u","width":1,"height":1}]}},{"type":"x"}]}}}`,
		`{"type":"message_new","object":null}`, `{"type":""}`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	if dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "datasets", "protocol", "protocol-vk")); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				continue
			}
			f.Add(b)
			// A Long Poll envelope: seed each update on its own.
			var lp lpResponse
			if json.Unmarshal(b, &lp) == nil {
				for _, u := range lp.Updates {
					f.Add([]byte(u))
				}
			}
		}
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseEnvelope(body)
		if err != nil {
			return
		}
		d, err := decodeEvent(ev, now)
		if err != nil {
			return
		}
		in := d.in
		if in.From.Channel != channel.VK || in.From.ID == "" || in.From.ID == "0" {
			t.Fatalf("accepted event without a peer: %+v", in)
		}
		if _, err := parsePeer(in.From.ID); err != nil {
			t.Fatalf("accepted event with a bad peer: %v", err)
		}
		if !strings.HasPrefix(in.EventID, "vk:") || len(in.EventID) < 4 {
			t.Fatalf("accepted event without an event id: %+v", in)
		}
		if in.At.IsZero() {
			t.Fatalf("accepted event without a time: %+v", in)
		}
		// Decoding is deterministic: a redelivery gives the same event.
		d2, _ := decodeEvent(ev, now)
		if diff := cmp.Diff(in, d2.in); diff != "" {
			t.Fatalf("decoding is not deterministic:\n%s", diff)
		}
	})
}
