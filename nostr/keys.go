package nostr

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
)

// Key errors.
var (
	ErrInvalidSecretKey = errors.New("nostr: invalid secret key")
	ErrInvalidPublicKey = errors.New("nostr: invalid public key")
)

// PublicKey is a BIP-340 x-only public key.
type PublicKey [32]byte

// ParsePublicKey decodes a 64-char lowercase hex x-only key and checks it is on the curve.
func ParsePublicKey(s string) (PublicKey, error) {
	var pk PublicKey
	if len(s) != 64 || !isLowerHex(s) {
		return pk, fmt.Errorf("%w: want 64 lowercase hex characters", ErrInvalidPublicKey)
	}
	hex.Decode(pk[:], []byte(s))
	if _, err := schnorr.ParsePubKey(pk[:]); err != nil {
		return PublicKey{}, fmt.Errorf("%w: not on the curve", ErrInvalidPublicKey)
	}
	return pk, nil
}

// String returns the lowercase hex form used on the wire.
func (p PublicKey) String() string { return hex.EncodeToString(p[:]) }

// IsZero reports whether p is the zero value.
func (p PublicKey) IsZero() bool { return p == PublicKey{} }

// MarshalText implements encoding.TextMarshaler (hex).
func (p PublicKey) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex, validated).
func (p *PublicKey) UnmarshalText(b []byte) error {
	k, err := ParsePublicKey(string(b))
	if err != nil {
		return err
	}
	*p = k
	return nil
}

// SecretKey is a secp256k1 private key. Its String and Format methods never reveal it;
// use Hex or EncodeNsec when the secret really must be written out.
type SecretKey struct {
	key  btcec.PrivateKey
	pub  PublicKey
	oddY bool // parity of the full public key's y; BIP-340 signing negates the scalar if set
}

// GenerateSecretKey returns a fresh random key.
func GenerateSecretKey() *SecretKey {
	for {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("nostr: crypto/rand failed: " + err.Error())
		}
		if sk, err := SecretKeyFromBytes(b[:]); err == nil {
			return sk
		}
	}
}

// SecretKeyFromBytes builds a key from 32 big-endian bytes; the scalar must be in [1, n-1].
func SecretKeyFromBytes(b []byte) (*SecretKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: want 32 bytes", ErrInvalidSecretKey)
	}
	sk := new(SecretKey)
	if overflow := sk.key.Key.SetByteSlice(b); overflow || sk.key.Key.IsZero() {
		return nil, fmt.Errorf("%w: scalar out of range", ErrInvalidSecretKey)
	}
	compressed := sk.key.PubKey().SerializeCompressed()
	copy(sk.pub[:], compressed[1:])
	sk.oddY = compressed[0] == 0x03
	return sk, nil
}

// ParseSecretKey decodes a 64-char hex secret key (either case).
func ParseSecretKey(s string) (*SecretKey, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex characters", ErrInvalidSecretKey)
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrInvalidSecretKey)
	}
	return SecretKeyFromBytes(b[:])
}

// Public returns the x-only public key.
func (sk *SecretKey) Public() PublicKey { return sk.pub }

// Bytes returns the 32-byte secret. Handle with care.
func (sk *SecretKey) Bytes() [32]byte { return sk.key.Key.Bytes() }

// Hex returns the secret as lowercase hex. Handle with care.
func (sk *SecretKey) Hex() string { b := sk.Bytes(); return hex.EncodeToString(b[:]) }

// BTCEC exposes the key for the curve operations of sibling packages (ECDH).
func (sk *SecretKey) BTCEC() *btcec.PrivateKey { return &sk.key }

// String is redacted so a secret never reaches a log by accident. The printing methods
// have value receivers so that a SecretKey value (not only a pointer) is redacted too.
func (SecretKey) String() string { return "SecretKey(redacted)" }

// GoString is redacted too (%#v).
func (sk SecretKey) GoString() string { return sk.String() }

// Format makes every fmt verb print the redacted form.
func (sk SecretKey) Format(f fmt.State, _ rune) { fmt.Fprint(f, sk.String()) }

// MarshalText refuses, so a secret cannot leak through JSON or YAML encoding.
func (SecretKey) MarshalText() ([]byte, error) {
	return nil, errors.New("nostr: refusing to marshal a secret key")
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsHex32 reports whether s is 64 lowercase hex characters (an id, pubkey or hash).
func IsHex32(s string) bool { return len(s) == 64 && isLowerHex(s) }
