//go:build race

package nip44

// The race detector adds allocations, so allocation counts are only checked without it.
const raceEnabled = true
