package service

import "testing"

func TestParseAnnounced(t *testing.T) {
	for _, tc := range []struct {
		in     string
		fp     string
		id     int64
		wantOK bool
	}{
		{"abc 12", "abc", 12, true},
		{"abc 0", "abc", 0, true},
		{"abc", "", 0, false},
		{"abc -1", "", 0, false},
		{"abc 1x", "", 0, false},
		{" 5", "", 0, false},
		{"abc 99999999999999999999", "", 0, false},
		{"", "", 0, false},
	} {
		fp, id, ok := parseAnnounced(tc.in)
		if fp != tc.fp || id != tc.id || ok != tc.wantOK {
			t.Errorf("parseAnnounced(%q) = %q, %d, %v; want %q, %d, %v", tc.in, fp, id, ok, tc.fp, tc.id, tc.wantOK)
		}
	}
}

// FuzzParseAnnounced: no input panics, and whatever parses formats back to the same value.
func FuzzParseAnnounced(f *testing.F) {
	for _, s := range []string{"abc 12", "0123456789abcdef0123456789abcdef 100000", "x -1", "", " ", "a  1", "a 01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		fp, id, ok := parseAnnounced(v)
		if !ok {
			return
		}
		if id < 0 || fp == "" {
			t.Fatalf("parseAnnounced(%q) accepted %q, %d", v, fp, id)
		}
		if fp2, id2, ok2 := parseAnnounced(formatAnnounced(fp, id)); !ok2 || fp2 != fp || id2 != id {
			t.Fatalf("round trip of %q: %q %d %v", v, fp2, id2, ok2)
		}
	})
}
