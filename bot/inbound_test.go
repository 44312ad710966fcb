package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/channel"
	"github.com/parley-chat/parley/store"
	"github.com/parley-chat/parley/store/storetest"
)

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\twith tab\nand newline":                   "plain text\twith tab\nand newline",
		"Привет, мир":                                         "Привет, мир",
		"a\x00b\x07c\x1b[31md\x7f":                            "abc[31md",
		"invoice_\u202Egpj.exe":                               "invoice_gpj.exe",
		"\u202A\u202B\u202C\u202D x \u2066\u2067\u2068\u2069": " x ",
		"c1 \u0085 \u009b end":                                "c1   end",
		"bad \xff utf8":                                       "bad \uFFFD utf8",
		"rtl mark \u200f stays":                               "rtl mark \u200f stays",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
	clean := "Где мой заказ 1234567? Спасибо!"
	if n := testing.AllocsPerRun(100, func() { cleanText(clean) }); n != 0 {
		t.Errorf("clean text: %v allocations", n)
	}
}

// TestInboundIsSanitizedBeforeStoring: what reaches the history (and the
// console, which shows it) has no NUL, BEL or bidi override, in the text
// and in the contact's name; a message over 8,192 characters is cut with a
// note for the agent, a message_cut event, and a short line to the customer.
func TestInboundIsSanitizedBeforeStoring(t *testing.T) {
	db := storetest.Open(t)
	web := &recordingSender{name: channel.Telegram}
	rt := New(Config{Logger: quietLogger()}, db, echoEngine(t), web)
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	from := channel.Address{Channel: channel.Telegram, ID: "42"}
	long := strings.Repeat("я", maxInboundRunes+100)
	for i, text := range []string{"hi\x00 there\x07", "file\u202Etxt.exe", long} {
		in := channel.Inbound{From: from, EventID: fmt.Sprint(i), Text: text, Name: "Eve\u202E\x00"}
		if err := rt.HandleInbound(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, rt)
	rt.Shutdown(context.Background())
	c, err := db.ContactByIdentity(from.String())
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Eve" {
		t.Errorf("contact name %q", c.Name)
	}
	h, err := db.History(c.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, m := range h {
		if m.Dir == store.DirIn {
			in = append(in, m.Text)
		}
	}
	if len(in) != 3 || in[0] != "hi there" || in[1] != "filetxt.exe" {
		t.Fatalf("stored inbound texts %q", in)
	}
	kept, note, _ := strings.Cut(in[2], "\n[")
	if utf8.RuneCountInString(kept) != maxInboundRunes || !strings.Contains(note, fmt.Sprint(maxInboundRunes+100)) {
		t.Errorf("cut message: %d runes kept, note %q", utf8.RuneCountInString(kept), note)
	}
	told := 0
	for _, m := range h {
		if m.Dir == store.DirOut && strings.Contains(m.Text, "8192") && len(m.Text) < 200 {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the customer was told about the cut %d times, want once", told)
	}
	cuts := 0
	if err := db.Events(time.Time{}, time.Time{}, func(e store.Event) error {
		if e.Type == "message_cut" && e.Data["runes"] == fmt.Sprint(maxInboundRunes+100) {
			cuts++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if cuts != 1 {
		t.Errorf("%d message_cut events, want 1", cuts)
	}
}
