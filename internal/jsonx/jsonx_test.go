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
