//go:build !race

package nlu

const raceEnabled = false
