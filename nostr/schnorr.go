package nostr

import (
	"crypto/sha256"
	"errors"

	secp "github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// BIP-340 tagged hashes start with SHA256(tag) || SHA256(tag): one 64-byte block, built once.
var (
	bip340AuxPrefix       = tagPrefix("BIP0340/aux")
	bip340NoncePrefix     = tagPrefix("BIP0340/nonce")
	bip340ChallengePrefix = tagPrefix("BIP0340/challenge")
)

func tagPrefix(tag string) (p [64]byte) {
	h := sha256.Sum256([]byte(tag))
	copy(p[:32], h[:])
	copy(p[32:], h[:])
	return p
}

// taggedHash3 is tagged_hash(tag, a || b || c) for three 32-byte inputs.
func taggedHash3(prefix *[64]byte, a, b, c []byte) [32]byte {
	var buf [64 + 3*32]byte
	copy(buf[:64], prefix[:])
	copy(buf[64:96], a)
	copy(buf[96:128], b)
	copy(buf[128:], c)
	return sha256.Sum256(buf[:])
}

var errZeroNonce = errors.New("nostr: BIP-340 nonce is zero")

// signSchnorr makes a BIP-340 signature of msg with auxiliary randomness aux. It uses the
// x-only key and y parity cached in sk, so it costs one base-point multiplication (btcec
// recomputes the public key first, doubling the cost).
func signSchnorr(sk *SecretKey, msg, aux *[32]byte) ([64]byte, error) {
	var sig [64]byte
	// d = d' if P has even y, else n - d'.
	var d secp.ModNScalar
	d.Set(&sk.key.Key)
	defer d.Zero()
	if sk.oddY {
		d.Negate()
	}
	dBytes := d.Bytes()
	defer clear(dBytes[:])

	// t = bytes(d) xor tagged_hash("BIP0340/aux", a)
	var t [64 + 32]byte
	copy(t[:64], bip340AuxPrefix[:])
	copy(t[64:], aux[:])
	th := sha256.Sum256(t[:])
	for i := range th {
		th[i] ^= dBytes[i]
	}
	// k' = int(tagged_hash("BIP0340/nonce", t || bytes(P) || m)) mod n, non-zero.
	rand := taggedHash3(&bip340NoncePrefix, th[:], sk.pub[:], msg[:])
	clear(th[:])
	var k secp.ModNScalar
	k.SetBytes(&rand)
	clear(rand[:])
	defer k.Zero()
	if k.IsZero() {
		return sig, errZeroNonce
	}

	// R = k'·G; use k = n - k' if R has odd y so that R is the even-y point.
	var r secp.JacobianPoint
	secp.ScalarBaseMultNonConst(&k, &r)
	r.ToAffine()
	if r.Y.IsOdd() {
		k.Negate()
	}
	r.X.PutBytesUnchecked(sig[:32])

	// e = tagged_hash("BIP0340/challenge", bytes(R) || bytes(P) || m) mod n; s = k + e·d.
	h := taggedHash3(&bip340ChallengePrefix, sig[:32], sk.pub[:], msg[:])
	var s secp.ModNScalar
	s.SetBytes(&h)
	s.Mul(&d).Add(&k)
	s.PutBytesUnchecked(sig[32:])
	return sig, nil
}

// verifySchnorr checks a BIP-340 signature over a 32-byte message. It works on the raw
// curve primitives so that the x-only key is lifted once (btcec's Verify parses the key a
// second time) and nothing is allocated.
func verifySchnorr(pub *PublicKey, msg *[32]byte, sig *[64]byte) bool {
	// P = lift_x(pub); fails for x >= p or x not on the curve.
	var p secp.JacobianPoint
	if p.X.SetBytes((*[32]byte)(pub)) != 0 || !secp.DecompressY(&p.X, false, &p.Y) {
		return false
	}
	p.Z.SetInt(1)

	// r must be below the field prime and s below the group order.
	var r secp.FieldVal
	if r.SetBytes((*[32]byte)(sig[:32])) != 0 {
		return false
	}
	var s secp.ModNScalar
	if s.SetBytes((*[32]byte)(sig[32:])) != 0 {
		return false
	}

	// e = tagged_hash("BIP0340/challenge", r || P || m) mod n, negated for the subtraction.
	h := taggedHash3(&bip340ChallengePrefix, sig[:32], pub[:], msg[:])
	var e secp.ModNScalar
	e.SetBytes(&h)
	e.Negate()

	// R = s·G - e·P must not be infinity, must have even y, and x(R) must equal r.
	var sG, eP, rr secp.JacobianPoint
	secp.ScalarBaseMultNonConst(&s, &sG)
	secp.ScalarMultNonConst(&e, &p, &eP)
	secp.AddNonConst(&sG, &eP, &rr)
	if rr.Z.IsZero() || (rr.X.IsZero() && rr.Y.IsZero()) {
		return false
	}
	rr.ToAffine()
	return !rr.Y.IsOdd() && rr.X.Equals(&r)
}
