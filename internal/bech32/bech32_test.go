package bech32

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// BIP-173's valid test vectors.
var validStrings = []string{
	"A12UEL5L",
	"a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"11" + strings.Repeat("q", 82) + "c8247j", // exactly 90 characters
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	"?1ezyfcl",
}

func TestDecodeValid(t *testing.T) {
	for _, s := range validStrings {
		t.Run(s, func(t *testing.T) {
			hrp, data, err := Decode(s, 90)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got, want := Encode(hrp, data), strings.ToLower(s); got != want {
				t.Errorf("Encode(Decode) = %q, want %q", got, want)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		maxLen int
		err    error
	}{
		{"space in hrp", "\x201nwldj5", 90, ErrInvalid},
		{"DEL in hrp", "\x7f1axkwrx", 90, ErrInvalid},
		{"over the limit", "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", 90, ErrInvalid},
		{"limit is the caller's", "a12uel5l", 7, ErrInvalid},
		{"no separator", "pzry9x0s0muk", 90, ErrInvalid},
		{"empty hrp", "1pzry9x0s0muk", 90, ErrInvalid},
		{"invalid data character", "x1b4n0q5v", 90, ErrInvalid},
		{"checksum too short", "li1dgmt3", 90, ErrInvalid},
		{"non-ASCII in checksum", "de1lg7wt\xff", 90, ErrInvalid},
		{"mixed case", "A12uEL5L", 90, ErrInvalid},
		{"checksum of the upper-case hrp", "A1G7SGD8", 90, ErrChecksum},
		{"empty hrp, only checksum", "10a06t8", 90, ErrInvalid},
		{"empty", "", 90, ErrInvalid},
		{"last character changed", "a12uel5m", 90, ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Decode(tt.in, tt.maxLen)
			if !errors.Is(err, tt.err) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%q) = %v, want %v", tt.in, err, tt.err)
			}
		})
	}
}

func TestConvertBits(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		from, to uint
		pad      bool
		want     []byte
		err      bool
	}{
		{"bytes to groups, padded", []byte{0xff}, 8, 5, true, []byte{31, 28}, false},
		{"groups to bytes", []byte{31, 28}, 5, 8, false, []byte{0xff}, false},
		{"non-zero padding", []byte{31, 29}, 5, 8, false, nil, true},
		{"too much padding", []byte{31, 28, 0}, 5, 8, false, nil, true},
		{"value out of range", []byte{32}, 5, 8, true, nil, true},
		{"empty", nil, 8, 5, true, []byte{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConvertBits(tt.in, tt.from, tt.to, tt.pad)
			if tt.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("ConvertBits = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range validStrings {
		f.Add(s)
	}
	f.Add("npub1")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		hrp, data, err := Decode(s, 1000)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if got := Encode(hrp, data); got != strings.ToLower(s) {
			t.Fatalf("Encode(Decode(%q)) = %q", s, got)
		}
		b, err := ConvertBits(data, 5, 8, true)
		if err != nil {
			t.Fatalf("ConvertBits of decoded data: %v", err)
		}
		again, err := ConvertBits(b, 8, 5, true)
		if err != nil || !bytes.HasPrefix(again, data) {
			t.Fatalf("regroup round trip: %v, %v vs %v", err, again, data)
		}
	})
}
