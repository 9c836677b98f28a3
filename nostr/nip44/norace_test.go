//go:build !race

package nip44

const raceEnabled = false
