package wallet

import (
	"errors"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want MSat
		err  bool
	}{
		{"50000sat", 50_000_000, false},
		{"50000sats", 50_000_000, false},
		{"21000msat", 21_000, false},
		{"21000", 21_000, false},
		{"0", 0, false},
		{"0sat", 0, false},
		{" 7sat ", 7000, false},
		{"9223372036854775807", 9223372036854775807, false},
		{"9223372036854775807msat", 9223372036854775807, false},
		{"9223372036854775sat", 9223372036854775000, false},
		{"9223372036854776sat", 0, true}, // overflows int64 msat
		{"9223372036854775808", 0, true},
		{"", 0, true},
		{"sat", 0, true},
		{"msat", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1.5sat", 0, true},
		{"1e3", 0, true},
		{"1 sat", 0, true},
		{"1SAT", 0, true},
		{"1ksat", 0, true},
		{"0x10", 0, true},
		{"१२३", 0, true}, // non-ASCII digits
	}
	for _, tc := range tests {
		got, err := ParseAmount(tc.in)
		if tc.err {
			if !errors.Is(err, ErrInvalidAmount) {
				t.Errorf("ParseAmount(%q) = %d, %v; want ErrInvalidAmount", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestMSatFormatting(t *testing.T) {
	for _, tc := range []struct {
		m            MSat
		str, compact string
		sats         int64
	}{
		{1234, "1234 msat", "1234msat", 1},
		{50_000_000, "50000000 msat", "50000sat", 50_000},
		{0, "0 msat", "0sat", 0},
		{999, "999 msat", "999msat", 0},
	} {
		if got := tc.m.String(); got != tc.str {
			t.Errorf("String(%d) = %q, want %q", int64(tc.m), got, tc.str)
		}
		if got := tc.m.Compact(); got != tc.compact {
			t.Errorf("Compact(%d) = %q, want %q", int64(tc.m), got, tc.compact)
		}
		if got := tc.m.Sats(); got != tc.sats {
			t.Errorf("Sats(%d) = %d, want %d", int64(tc.m), got, tc.sats)
		}
	}
	if FromSats(21) != 21_000 || FromSats(1<<62) != MaxMSat {
		t.Errorf("FromSats: %d, %d", FromSats(21), FromSats(1<<62))
	}
}

func TestFeeReserve(t *testing.T) {
	for _, tc := range []struct{ amount, want MSat }{
		{0, 10_000},
		{1, 10_000},
		{999_999, 10_000},
		{1_000_000, 10_000}, // 1000 sat: 1% = 10 sat = the minimum
		{1_000_100, 10_001},
		{2_000_000, 20_000},
		{50_000_000, 500_000},
		{-5, 10_000},
	} {
		if got := FeeReserve(tc.amount); got != tc.want {
			t.Errorf("FeeReserve(%d) = %d, want %d", tc.amount, got, tc.want)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"50000sat", "21000msat", "21000", "0", "9223372036854775807", "9223372036854776sat",
		"-1", "1.5sat", " 7sats", "sat", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAmount(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAmount) {
				t.Fatalf("ParseAmount(%q) error %v does not wrap ErrInvalidAmount", s, err)
			}
			return
		}
		if m < 0 {
			t.Fatalf("ParseAmount(%q) = %d < 0", s, m)
		}
		if again, err := ParseAmount(m.Compact()); err != nil || again != m {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, m, m.Compact(), again, err)
		}
	})
}
