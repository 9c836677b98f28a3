package nostr

import (
	"fmt"

	secp "github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// SharedX returns the unhashed 32-byte x coordinate of sk·P, where P is pub lifted to the
// point with even y (BIP-340). It is the ECDH secret under both NIP-04 and NIP-44; the
// result is symmetric: SharedX(a, B) == SharedX(b, A).
func SharedX(sk *SecretKey, pub PublicKey) ([32]byte, error) {
	var out [32]byte
	if sk == nil || sk.key.Key.IsZero() {
		return out, fmt.Errorf("%w: zero key", ErrInvalidSecretKey)
	}
	var p secp.JacobianPoint
	if overflow := p.X.SetBytes((*[32]byte)(&pub)); overflow != 0 {
		return out, fmt.Errorf("%w: x not below the field prime", ErrInvalidPublicKey)
	}
	if !secp.DecompressY(&p.X, false, &p.Y) {
		return out, fmt.Errorf("%w: not on the curve", ErrInvalidPublicKey)
	}
	p.Z.SetInt(1)
	var r secp.JacobianPoint
	// Variable time is acceptable here: the same trade-off btcec makes for signing, and
	// the scalar is a long-term key, not a per-message nonce.
	secp.ScalarMultNonConst(&sk.key.Key, &p, &r)
	// sk is in [1, n-1] and every curve point has prime order n, so r is never infinity.
	r.ToAffine()
	r.X.PutBytes(&out)
	return out, nil
}
