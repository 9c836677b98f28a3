package nostr

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidBech32 is returned for a malformed NIP-19 string.
var ErrInvalidBech32 = errors.New("nostr: invalid bech32")

// EncodeNpub returns the NIP-19 npub form of a public key.
func EncodeNpub(pk PublicKey) string { return bech32Encode("npub", pk[:]) }

// EncodeNsec returns the NIP-19 nsec form of a secret key. Handle with care.
func EncodeNsec(sk *SecretKey) string { b := sk.Bytes(); return bech32Encode("nsec", b[:]) }

// DecodeNpub parses an npub string.
func DecodeNpub(s string) (PublicKey, error) {
	data, err := bech32Decode("npub", s)
	if err != nil {
		return PublicKey{}, err
	}
	var pk PublicKey
	copy(pk[:], data)
	return ParsePublicKey(pk.String())
}

// DecodeNsec parses an nsec string.
func DecodeNsec(s string) (*SecretKey, error) {
	data, err := bech32Decode("nsec", s)
	if err != nil {
		return nil, err
	}
	return SecretKeyFromBytes(data)
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

var bech32Gen = [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}

func bech32Polymod(values []byte) uint32 {
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= bech32Gen[i]
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

// convertBits regroups a bit stream from 'from'-bit to 'to'-bit groups.
func convertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	var acc, bits uint
	maxv := uint(1)<<to - 1
	out := make([]byte, 0, len(data)*int(from)/int(to)+1)
	for _, v := range data {
		if uint(v)>>from != 0 {
			return nil, ErrInvalidBech32
		}
		acc = acc<<from | uint(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, fmt.Errorf("%w: bad padding", ErrInvalidBech32)
	}
	return out, nil
}

func bech32Encode(hrp string, data []byte) string {
	five, _ := convertBits(data, 8, 5, true)
	values := append(hrpExpand(hrp), five...)
	values = append(values, 0, 0, 0, 0, 0, 0)
	mod := bech32Polymod(values) ^ 1
	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, v := range five {
		sb.WriteByte(bech32Charset[v])
	}
	for i := 0; i < 6; i++ {
		sb.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

func bech32Decode(wantHRP, s string) ([]byte, error) {
	if len(s) > 1000 {
		return nil, fmt.Errorf("%w: too long", ErrInvalidBech32)
	}
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return nil, fmt.Errorf("%w: mixed case", ErrInvalidBech32)
	}
	s = strings.ToLower(s)
	pos := strings.LastIndexByte(s, '1')
	if pos < 1 || pos+7 > len(s) {
		return nil, fmt.Errorf("%w: no separator", ErrInvalidBech32)
	}
	hrp := s[:pos]
	if hrp != wantHRP {
		return nil, fmt.Errorf("%w: prefix %q, want %q", ErrInvalidBech32, hrp, wantHRP)
	}
	values := make([]byte, 0, len(s)-pos-1)
	for i := pos + 1; i < len(s); i++ {
		d := strings.IndexByte(bech32Charset, s[i])
		if d < 0 {
			return nil, fmt.Errorf("%w: bad character", ErrInvalidBech32)
		}
		values = append(values, byte(d))
	}
	if bech32Polymod(append(hrpExpand(hrp), values...)) != 1 {
		return nil, fmt.Errorf("%w: checksum", ErrInvalidBech32)
	}
	data, err := convertBits(values[:len(values)-6], 5, 8, false)
	if err != nil {
		return nil, err
	}
	if len(data) != 32 {
		return nil, fmt.Errorf("%w: want 32 bytes, got %d", ErrInvalidBech32, len(data))
	}
	return data, nil
}
