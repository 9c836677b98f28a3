package bolt11

import (
	"fmt"
	"strings"
)

// BOLT-11 uses bech32 (BIP-173, not bech32m) without the 90-character limit.

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

var charsetRev = func() [128]int8 {
	var r [128]int8
	for i := range r {
		r[i] = -1
	}
	for i := 0; i < len(charset); i++ {
		r[charset[i]] = int8(i)
	}
	return r
}()

func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp string) []byte {
	out := make([]byte, 0, len(hrp)*2+1)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

func checksum(hrp string, data []byte) []byte {
	values := append(hrpExpand(hrp), data...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := polymod(values) ^ 1
	out := make([]byte, 6)
	for i := range out {
		out[i] = byte(mod>>(5*(5-i))) & 31
	}
	return out
}

// bech32Encode encodes 5-bit groups under hrp (lower case).
func bech32Encode(hrp string, data []byte) string {
	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(data) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, d := range data {
		b.WriteByte(charset[d])
	}
	for _, d := range checksum(hrp, data) {
		b.WriteByte(charset[d])
	}
	return b.String()
}

// bech32Decode returns the lower-case hrp and the 5-bit data groups without
// the checksum.
func bech32Decode(s string) (string, []byte, error) {
	if len(s) > MaxLength {
		return "", nil, fmt.Errorf("%w: longer than %d characters", ErrEncoding, MaxLength)
	}
	var hasLower, hasUpper bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return "", nil, fmt.Errorf("%w: invalid character at %d", ErrEncoding, i)
		}
		hasLower = hasLower || (c >= 'a' && c <= 'z')
		hasUpper = hasUpper || (c >= 'A' && c <= 'Z')
	}
	if hasLower && hasUpper {
		return "", nil, fmt.Errorf("%w: mixed case", ErrEncoding)
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return "", nil, fmt.Errorf("%w: missing separator or checksum", ErrEncoding)
	}
	hrp := s[:sep]
	data := make([]byte, 0, len(s)-sep-1)
	for i := sep + 1; i < len(s); i++ {
		v := charsetRev[s[i]]
		if v < 0 {
			return "", nil, fmt.Errorf("%w: invalid data character %q", ErrEncoding, s[i])
		}
		data = append(data, byte(v))
	}
	if polymod(append(hrpExpand(hrp), data...)) != 1 {
		return "", nil, ErrChecksum
	}
	return hrp, data[:len(data)-6], nil
}

// convertBits regroups bits from fromBits-wide to toBits-wide groups. With
// pad, a final partial group is zero-padded; without, leftover bits must be
// fewer than fromBits and zero.
func convertBits(data []byte, fromBits, toBits uint, pad bool) ([]byte, error) {
	var acc uint32
	var bits uint
	maxv := uint32(1)<<toBits - 1
	out := make([]byte, 0, len(data)*int(fromBits)/int(toBits)+1)
	for _, v := range data {
		if uint32(v)>>fromBits != 0 {
			return nil, fmt.Errorf("%w: value out of range", ErrEncoding)
		}
		acc = acc<<fromBits | uint32(v)
		bits += fromBits
		for bits >= toBits {
			bits -= toBits
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(toBits-bits)&maxv))
		}
	} else if bits >= fromBits || acc<<(toBits-bits)&maxv != 0 {
		return nil, fmt.Errorf("%w: non-zero padding", ErrEncoding)
	}
	return out, nil
}
