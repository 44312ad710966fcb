package segment

import (
	"strings"
	"testing"
	"time"
)

func TestSegmentCityAndLastOrder(t *testing.T) {
	s, err := Compile(`contact.city == "Казань" && days_since(contact.last_order) > 90`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		fields map[string]string
		want   bool
	}{
		{map[string]string{"city": "Казань", "last_order": "2026-08-01"}, true},
		{map[string]string{"city": "Казань", "last_order": "2026-11-30"}, false},
		{map[string]string{"city": "Москва", "last_order": "2026-01-01"}, false},
		{map[string]string{"city": "Казань"}, false}, // no order: days_since is -1
		{nil, false},
	}
	for i, c := range cases {
		got, err := s.Match(Contact{ID: "c", Fields: c.fields}, now)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("case %d %v: got %v, want %v", i, c.fields, got, c.want)
		}
	}
}

func TestSegmentFacts(t *testing.T) {
	s, err := Compile(`contact.tickets >= 1 && contact.csat < 4 && days_since(contact.last_message_at) <= 7 && "telegram" in contact.channels`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	in := Contact{Tickets: 2, CSAT: 3, LastMessageAt: now.Add(-48 * time.Hour), Channels: []string{"telegram"}}
	if ok, _ := s.Match(in, now); !ok {
		t.Error("contact with a ticket, low CSAT, recent message on telegram not matched")
	}
	in.Channels = []string{"vk"}
	if ok, _ := s.Match(in, now); ok {
		t.Error("contact without telegram matched")
	}
}

func TestSegmentTypeErrorsAtCompile(t *testing.T) {
	for src, want := range map[string]string{
		`contact.tickets == "many"`:       "mismatched types",
		`contact.city > 3`:                "invalid operation",
		`contact.city`:                    "expected bool",
		`days_since(contact.tickets) > 1`: "days_since",
		`unknown_name == 1`:               "unknown name",
		``:                                "empty expression",
		strings.Repeat("(", 40) + "true" + strings.Repeat(")", 40): "nested too deep",
	} {
		_, err := Compile(src)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Compile(%.30q) = %v, want one line with %q", src, err, want)
		}
	}
}
