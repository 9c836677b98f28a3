// Package bech32 encodes and decodes bech32 strings (BIP-173, not bech32m), the
// encoding under NIP-19 keys and BOLT-11 invoices. The caller picks the length
// limit: BIP-173's 90 characters is too short for both.
package bech32

import (
	"errors"
	"fmt"
	"strings"
)

// Errors. All wrap ErrInvalid.
var (
	ErrInvalid  = errors.New("bech32: invalid string")
	ErrChecksum = fmt.Errorf("%w: bad checksum", ErrInvalid)
)

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// charsetRev maps an ASCII byte to its 5-bit value, -1 if not in charset.
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

// Encode returns hrp (lower case), '1', the 5-bit groups of data (each < 32) and
// the checksum.
func Encode(hrp string, data []byte) string {
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

// Decode checks s (at most maxLen characters, all lower or all upper case) and
// returns its lower-case hrp and its 5-bit data groups without the checksum.
func Decode(s string, maxLen int) (hrp string, data []byte, err error) {
	if len(s) > maxLen {
		return "", nil, fmt.Errorf("%w: longer than %d characters", ErrInvalid, maxLen)
	}
	var hasLower, hasUpper bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			return "", nil, fmt.Errorf("%w: invalid character at %d", ErrInvalid, i)
		}
		hasLower = hasLower || (c >= 'a' && c <= 'z')
		hasUpper = hasUpper || (c >= 'A' && c <= 'Z')
	}
	if hasLower && hasUpper {
		return "", nil, fmt.Errorf("%w: mixed case", ErrInvalid)
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || sep+7 > len(s) {
		return "", nil, fmt.Errorf("%w: missing separator or checksum", ErrInvalid)
	}
	hrp = s[:sep]
	data = make([]byte, 0, len(s)-sep-1)
	for i := sep + 1; i < len(s); i++ {
		v := charsetRev[s[i]]
		if v < 0 {
			return "", nil, fmt.Errorf("%w: invalid data character %q", ErrInvalid, s[i])
		}
		data = append(data, byte(v))
	}
	if polymod(append(hrpExpand(hrp), data...)) != 1 {
		return "", nil, ErrChecksum
	}
	return hrp, data[:len(data)-6], nil
}

// ConvertBits regroups bits from fromBits-wide to toBits-wide groups (8 to 5 to
// encode bytes, 5 to 8 to decode them). With pad, a final partial group is
// zero-padded; without, leftover bits must be fewer than fromBits and zero.
func ConvertBits(data []byte, fromBits, toBits uint, pad bool) ([]byte, error) {
	var acc uint32
	var bits uint
	maxv := uint32(1)<<toBits - 1
	out := make([]byte, 0, len(data)*int(fromBits)/int(toBits)+1)
	for _, v := range data {
		if uint32(v)>>fromBits != 0 {
			return nil, fmt.Errorf("%w: value out of range", ErrInvalid)
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
		return nil, fmt.Errorf("%w: non-zero padding", ErrInvalid)
	}
	return out, nil
}
