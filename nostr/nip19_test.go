package nostr

import (
	"errors"
	"strings"
	"testing"
)

func TestNIP19Vectors(t *testing.T) {
	pk, err := DecodeNpub(testNpub)
	if err != nil || pk.String() != testPubHex {
		t.Fatalf("DecodeNpub = %s, %v; want %s", pk, err, testPubHex)
	}
	if got := EncodeNpub(pk); got != testNpub {
		t.Errorf("EncodeNpub = %s, want %s", got, testNpub)
	}
	sk, err := DecodeNsec(testNsec)
	if err != nil || sk.Hex() != testSecretHex {
		t.Fatalf("DecodeNsec: %v", err)
	}
	if got := EncodeNsec(mustSecret(t, testSecretHex)); got != testNsec {
		t.Errorf("EncodeNsec = %s, want %s", got, testNsec)
	}
	// BIP-173 allows an all-uppercase string.
	if pk2, err := DecodeNpub(strings.ToUpper(testNpub)); err != nil || pk2 != pk {
		t.Errorf("uppercase npub: %v", err)
	}
}

func TestNIP19Invalid(t *testing.T) {
	flipLast := func(s string) string {
		last := s[len(s)-1]
		repl := byte('q')
		if last == 'q' {
			repl = 'p'
		}
		return s[:len(s)-1] + string(repl)
	}
	mixed := "N" + testNpub[1:]
	i := strings.IndexAny(testNpub[10:], "acdefghjklmnpqrstuvwxyz") + 10
	mixedInside := testNpub[:i] + strings.ToUpper(testNpub[i:i+1]) + testNpub[i+1:]
	tests := []struct {
		name string
		in   string
		nsec bool
	}{
		{"bad checksum npub", flipLast(testNpub), false},
		{"bad checksum nsec", flipLast(testNsec), true},
		{"data char changed", testNpub[:10] + "q" + testNpub[11:], false},
		{"nsec given as npub", testNsec, false},
		{"npub given as nsec", testNpub, true},
		{"other prefix", "note" + testNpub[4:], false},
		{"mixed case", mixed, false},
		{"mixed case inside", mixedInside, false},
		{"no separator", strings.ReplaceAll(testNpub, "1", ""), false},
		{"bad character b", testNpub[:10] + "b" + testNpub[11:], false},
		{"truncated", testNpub[:len(testNpub)-8], false},
		{"empty", "", false},
		{"too long", "npub1" + strings.Repeat("q", 1000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.nsec {
				_, err = DecodeNsec(tc.in)
			} else {
				_, err = DecodeNpub(tc.in)
			}
			if !errors.Is(err, ErrInvalidBech32) {
				t.Errorf("decode %q: %v, want ErrInvalidBech32", tc.in, err)
			}
		})
	}
}
