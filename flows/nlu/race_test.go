//go:build race

package nlu

// raceEnabled skips the data-set trainings under the race detector, where
// they take minutes; their concurrency is covered by the small tests.
const raceEnabled = true
