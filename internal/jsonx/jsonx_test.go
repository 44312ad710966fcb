package jsonx

import (
	"encoding/json"
	"testing"
)

var samples = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>",
	"tab\tnew\nline\rret\bback\fform", "\x00\x01\x1f\x7f", "Привет, мир", "emoji 🙂 ok",
	"bad \xff utf8 \xc3", "line sep \u2028 para sep \u2029", "\xed\xa0\x80 surrogate",
}

// TestAppendStringIsEncodingJSON: the quoting is byte for byte
// encoding/json's, so records written either way read the same.
func TestAppendStringIsEncodingJSON(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestFieldsAndPairsAreEncodingJSON: a struct written with AppendField,
// AppendOptField and AppendPairs reads as json.Marshal writes it.
func TestFieldsAndPairsAreEncodingJSON(t *testing.T) {
	type pair struct {
		Text  string `json:"text"`
		Value string `json:"value"`
	}
	type msg struct {
		ID      string `json:"id"`
		Image   string `json:"image,omitempty"`
		Sender  string `json:"sender,omitempty"`
		Buttons []pair `json:"buttons"`
	}
	for _, m := range []msg{
		{ID: "1", Buttons: []pair{}},
		{ID: "<2>", Sender: "Анна", Buttons: []pair{{"Да", "yes"}, {"a\"b", "\u2028"}}},
	} {
		want, _ := json.Marshal(m)
		b := AppendField(nil, `{"id":`, m.ID)
		b = AppendOptField(b, `,"image":`, m.Image)
		b = AppendOptField(b, `,"sender":`, m.Sender)
		b = AppendPairs(b, `,"buttons":`, `{"text":`, `,"value":`, m.Buttons, func(p pair) (string, string) { return p.Text, p.Value })
		b = append(b, '}')
		if string(b) != string(want) {
			t.Errorf("got  %s\nwant %s", b, want)
		}
	}
}
