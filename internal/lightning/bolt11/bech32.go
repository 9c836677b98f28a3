package bolt11

import (
	"errors"
	"fmt"

	"github.com/nwc-go/nwc/internal/bech32"
)

// BOLT-11 uses bech32 (BIP-173, not bech32m) without the 90-character limit.
// These wrappers put bech32's errors under this package's sentinels.

// bech32Decode returns the lower-case hrp and the 5-bit data groups without
// the checksum.
func bech32Decode(s string) (string, []byte, error) {
	hrp, data, err := bech32.Decode(s, MaxLength)
	switch {
	case errors.Is(err, bech32.ErrChecksum):
		return "", nil, ErrChecksum
	case err != nil:
		return "", nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return hrp, data, nil
}

// convertBits regroups bits from fromBits-wide to toBits-wide groups; see
// bech32.ConvertBits.
func convertBits(data []byte, fromBits, toBits uint, pad bool) ([]byte, error) {
	out, err := bech32.ConvertBits(data, fromBits, toBits, pad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncoding, err)
	}
	return out, nil
}
