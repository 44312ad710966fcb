package store

import (
	"bytes"
	"strings"
	"testing"
)

// Composite keys round-trip, sort by contact then number, and never split
// a key into the wrong contact.
func FuzzCompositeKey(f *testing.F) {
	f.Add("c_01", uint64(1), "c_01", uint64(2))
	f.Add("c_a", uint64(1<<40), "c_ab", uint64(0))
	f.Add("", uint64(0), "x", uint64(1))
	f.Fuzz(func(t *testing.T, a string, n uint64, b string, m uint64) {
		if strings.IndexByte(a, 0) >= 0 || strings.IndexByte(b, 0) >= 0 {
			t.Skip("contact ids never contain NUL (validContactID)")
		}
		ka, kb := compositeKey(a, n), compositeKey(b, m)
		id, got, ok := splitComposite(ka)
		if a != "" && (!ok || id != a || got != n) {
			t.Fatalf("splitComposite(compositeKey(%q, %d)) = %q, %d, %v", a, n, id, got, ok)
		}
		if a != "" && b != "" && a != b && (bytes.Compare(ka, kb) < 0) != (a < b) {
			t.Fatalf("keys of %q and %q sort against their contacts", a, b)
		}
		if a == b && (bytes.Compare(ka, kb) < 0) != (n < m) {
			t.Fatalf("keys %d and %d of %q sort against their numbers", n, m, a)
		}
	})
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"Анна", 8, "Анна"}, {"Анна", 7, "Ан" + "н"}, {"Анна", 3, "А"}, {"abc", 2, "ab"}, {"", 3, ""}} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
