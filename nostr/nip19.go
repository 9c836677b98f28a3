package nostr

import (
	"errors"
	"fmt"

	"github.com/nwc-go/nwc/internal/bech32"
)

// ErrInvalidBech32 is returned for a malformed NIP-19 string.
var ErrInvalidBech32 = errors.New("nostr: invalid bech32")

// nip19MaxLength is NIP-19's cap on a bech32 string (BIP-173's 90 is too short
// for its TLV forms).
const nip19MaxLength = 1000

// EncodeNpub returns the NIP-19 npub form of a public key.
func EncodeNpub(pk PublicKey) string { return encodeKey("npub", pk[:]) }

// EncodeNsec returns the NIP-19 nsec form of a secret key. Handle with care.
func EncodeNsec(sk *SecretKey) string { b := sk.Bytes(); return encodeKey("nsec", b[:]) }

// DecodeNpub parses an npub string.
func DecodeNpub(s string) (PublicKey, error) {
	data, err := decodeKey("npub", s)
	if err != nil {
		return PublicKey{}, err
	}
	var pk PublicKey
	copy(pk[:], data)
	return ParsePublicKey(pk.String())
}

// DecodeNsec parses an nsec string.
func DecodeNsec(s string) (*SecretKey, error) {
	data, err := decodeKey("nsec", s)
	if err != nil {
		return nil, err
	}
	return SecretKeyFromBytes(data)
}

func encodeKey(hrp string, key []byte) string {
	five, _ := bech32.ConvertBits(key, 8, 5, true) // 8-bit input is always in range
	return bech32.Encode(hrp, five)
}

// decodeKey returns the 32 bytes of a bech32 string with prefix wantHRP.
func decodeKey(wantHRP, s string) ([]byte, error) {
	hrp, five, err := bech32.Decode(s, nip19MaxLength)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBech32, err)
	}
	if hrp != wantHRP {
		return nil, fmt.Errorf("%w: prefix %q, want %q", ErrInvalidBech32, hrp, wantHRP)
	}
	data, err := bech32.ConvertBits(five, 5, 8, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBech32, err)
	}
	if len(data) != 32 {
		return nil, fmt.Errorf("%w: want 32 bytes, got %d", ErrInvalidBech32, len(data))
	}
	return data, nil
}
