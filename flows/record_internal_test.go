package flows

import (
	"strconv"
	"testing"
)

// twoDecimals is FormatFloat's text for every value, the table's or not.
func TestTwoDecimals(t *testing.T) {
	for _, x := range []float64{0, -0.0, 0.125, 0.135, -0.005, 0.995, 1, -1, 0.5049999, 1.005, -3.14159, 42} {
		if got, want := twoDecimals(x), strconv.FormatFloat(x, 'f', 2, 64); got != want {
			t.Errorf("twoDecimals(%v) = %q, want %q", x, got, want)
		}
	}
	for i := -1000; i <= 1000; i++ {
		x := float64(i) / 1000
		if got, want := twoDecimals(x), strconv.FormatFloat(x, 'f', 2, 64); got != want {
			t.Fatalf("twoDecimals(%v) = %q, want %q", x, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { twoDecimals(0.37) }); n != 0 {
		t.Errorf("twoDecimals(0.37) allocates %v times", n)
	}
}
