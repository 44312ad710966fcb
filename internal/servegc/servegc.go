// Package servegc owns the garbage collector setting `parley serve` runs
// with, so that the benchmarks measure the code under the same setting.
package servegc

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC `parley serve` uses unless GOGC is set: the live heap
// is small (sessions are on disk) and the message path allocates a lot of
// short-lived data, so collecting less often was measured at +40% messages/s
// end to end (cmd BenchmarkEndToEndWebChat).
const Percent = 400

// Apply sets Percent unless the environment sets GOGC; it returns the
// previous setting and whether it changed anything.
func Apply() (old int, changed bool) {
	if os.Getenv("GOGC") != "" {
		return 0, false
	}
	return debug.SetGCPercent(Percent), true
}

// ForBenchmark applies the setting for one benchmark (a *testing.B; the
// package does not import testing, since parley serve links it) and
// restores the previous one when it ends.
func ForBenchmark(tb interface{ Cleanup(func()) }) {
	if old, changed := Apply(); changed {
		tb.Cleanup(func() { debug.SetGCPercent(old) })
	}
}
