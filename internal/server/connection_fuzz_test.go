package server

import (
	"testing"
	"time"
)

// FuzzParseExpiry: any --expires text either fails, means never, or gives a time after now
// (it once wrapped 107000d into the past).
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"", "never", "30d", "12h", "90m", "2026-12-01T00:00:00Z", "0d", "-1h", "99999999999d", "1.5h"} {
		f.Add(s)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseExpiry(s, now)
		if err != nil || got.IsZero() {
			return
		}
		if !got.After(now) {
			t.Fatalf("expiry %q gave %v, not after now", s, got)
		}
	})
}
