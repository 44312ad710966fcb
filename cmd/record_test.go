package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-chat/parley/flows"
	"github.com/parley-chat/parley/flows/flowtest"
)

// Whatever the bot and the customer said, the recorded file reads back as
// the same turns: quotes, colons, a "#", new lines, YAML words like "no".
func TestRecordedTextsReadBackUnchanged(t *testing.T) {
	odd := []string{`say "hi": ok`, "line one\nline two\ttab", "# not a comment", "no", "- [x] {y}", `back\slash`, "Ёлка 🎄"}
	r := &recorder{channel: "telegram", name: `Anna "A"`, lang: "en"}
	for i, s := range odd {
		tap := ""
		if i%2 == 1 {
			tap = s
		}
		r.line(s, tap)
		r.outputs([]flows.Output{
			{Kind: flows.Say, Text: s},
			{Kind: flows.Say, Text: s + "?", Buttons: []flows.Button{{Text: s, Value: "v"}, {Text: "ok", Value: "ok"}}},
		})
	}
	r.calls = []recCall{{method: "POST", url: "https://api.example.com/x?q=a&b=1", status: 201, body: []byte(`{"a":[1,"#"],"b":null}`)},
		{method: "GET", url: "https://api.example.com/plain", status: 200, body: []byte("not json: #1")}}

	dir := t.TempDir()
	if err := r.write(filepath.Join(dir, flows.TestsDir, "rec.yaml")); err != nil {
		t.Fatal(err)
	}
	files, _, err := flowtest.LoadAll(os.DirFS(dir))
	if err != nil {
		t.Fatalf("the recorded file does not parse: %v", err)
	}
	test := files[0].Tests[0]
	if test.Channel.Value != "telegram" || test.Contact.Name.Value != `Anna "A"` || test.Contact.Lang.Value != "en" {
		t.Errorf("channel %q, contact %+v", test.Channel.Value, test.Contact)
	}
	if len(test.Turns) != len(odd) {
		t.Fatalf("%d turns, want %d", len(test.Turns), len(odd))
	}
	for i, s := range odd {
		turn := test.Turns[i]
		got := ""
		if i%2 == 1 {
			got = turn.Tap.Value
		} else {
			got = turn.User.Value
		}
		if got != s || len(turn.Bot) != 2 || turn.Bot[0].Text.Value != s || turn.Bot[1].Text.Value != s+"?" ||
			turn.Bot[1].Buttons[0].Value != s || turn.Bot[1].Buttons[1].Value != "ok" {
			t.Errorf("turn %d does not read back as %q", i+1, s)
		}
	}
	c := test.HTTP[0]
	body, _ := json.Marshal(c.Body.Any())
	if c.Method.Value != "POST" || c.URL.Value != "https://api.example.com/x?q=a&b=1" || c.Status != 201 ||
		string(body) != `{"a":[1,"#"],"b":null}` {
		t.Errorf("canned call: %s %s %d %#v", c.Method.Value, c.URL.Value, c.Status, c.Body.Any())
	}
	if got := test.HTTP[1].Body.Any(); got != "not json: #1" {
		t.Errorf("a body that is not JSON: %#v", got)
	}
}

// A recording stops at a handoff: later lines and calls are not kept.
func TestRecordingEndsAtTheHandoff(t *testing.T) {
	r := &recorder{}
	r.line("hi", "")
	r.outputs([]flows.Output{{Kind: flows.Handoff, Handoff: &flows.HandoffRequest{Reason: "requested"}}})
	if r.line("more", "") {
		t.Error("a line after the handoff was recorded")
	}
	if len(r.turns) != 1 || r.turns[0].handoff == nil {
		t.Errorf("turns %+v", r.turns)
	}
}
