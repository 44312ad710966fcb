package flows

import (
	"strconv"
	"testing"
)

// TestButtonNumber holds buttonNumber to strconv.Atoi on the numbers a
// button can have (1 and up).
func TestButtonNumber(t *testing.T) {
	for _, s := range []string{"", "0", "1", "3", "03", "99", "+1", "+", "-1", "-", "1a", "a", "12", "123", " 1", "١", "+0", "00"} {
		k, err := strconv.Atoi(s)
		want := err == nil && len(s) <= 2 && k >= 1
		got, ok := buttonNumber(s)
		if have := ok && got >= 1; have != want || (want && got != k) {
			t.Errorf("buttonNumber(%q) = %d, %v; Atoi gives %d, %v", s, got, ok, k, err)
		}
	}
}

// TestNormalizeUnchanged checks the no-copy path on its edge cases.
func TestNormalizeUnchanged(t *testing.T) {
	for _, s := range []string{"", " ", "a", "привет", "/start", "12 34", "a  b", " a", "a ", "ёж", "яблоко ананас", "Да", "ok!", "a\tb", "ǅ"} {
		if got, want := normalize(s), normalizeSlow(s); got != want {
			t.Errorf("normalize(%q) = %q, want %q", s, got, want)
		}
	}
}
