package handoff

import (
	"testing"
	"time"
)

func TestHoursOpenBetween(t *testing.T) {
	h, err := ParseHours("Europe/Moscow", []string{"mon-fri 09:00-18:00", "sat 22:00-02:00"}, []string{"2026-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	msk := time.FixedZone("MSK", 3*3600)
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 11, d, hh, mm, 0, 0, msk) }
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"inside", at(23, 10, 0), at(23, 10, 5), 5 * time.Minute},
		{"before opening", at(23, 8, 30), at(23, 9, 5), 5 * time.Minute},
		{"over the night", at(23, 17, 50), at(24, 9, 10), 20 * time.Minute},
		{"over a holiday", at(24, 17, 0), at(26, 10, 0), 2 * time.Hour},
		{"overnight range", at(28, 23, 0), at(29, 12, 0), 3 * time.Hour},
		{"weekend", at(29, 12, 0), at(29, 20, 0), 0},
		{"backwards", at(23, 11, 0), at(23, 10, 0), 0},
	} {
		if got := h.OpenBetween(tc.from, tc.to); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := (Hours{}).OpenBetween(at(23, 0, 0), at(24, 0, 0)); got != 24*time.Hour {
		t.Errorf("always open: %v", got)
	}
}
