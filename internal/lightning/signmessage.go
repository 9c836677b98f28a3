package lightning

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
)

// LND's signmessage/verifymessage format: the message is prefixed with
// SignedMessagePrefix, hashed with double SHA-256, signed as a 65-byte compact
// recoverable signature (header 31..34 for a compressed key) and zbase32
// encoded. Anyone can check it by recovering the node key.
const SignedMessagePrefix = "Lightning Signed Message:"

// ErrBadSignature is returned by VerifyMessage for a malformed signature.
var ErrBadSignature = errors.New("lightning: bad message signature")

func messageDigest(message string) []byte {
	first := sha256.Sum256([]byte(SignedMessagePrefix + message))
	second := sha256.Sum256(first[:])
	return second[:]
}

// SignMessage signs message with key in LND's format and returns the zbase32
// signature. RFC 6979 makes it deterministic.
func SignMessage(key *btcec.PrivateKey, message string) string {
	return EncodeSignature(ecdsa.SignCompact(key, messageDigest(message), true))
}

// EncodeSignature writes a 65-byte compact recoverable signature over a message
// (prefixed with SignedMessagePrefix, double SHA-256) as SignMessage does: for a
// backend whose node signs it remotely.
func EncodeSignature(compact []byte) string { return zbase32Encode(compact) }

// VerifyMessage recovers the public key (33-byte compressed hex) that made
// signature over message; compare it with the expected node key.
func VerifyMessage(message, signature string) (string, error) {
	sig, err := zbase32Decode(signature)
	if err != nil || len(sig) != 65 {
		return "", fmt.Errorf("%w: not 65 zbase32 bytes", ErrBadSignature)
	}
	pub, _, err := ecdsa.RecoverCompact(sig, messageDigest(message))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return fmt.Sprintf("%x", pub.SerializeCompressed()), nil
}

const zbase32Alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"

// zbase32Encode writes 5-bit groups, most significant bit first, zero-padding
// the last group and emitting no padding characters.
func zbase32Encode(b []byte) string {
	var sb strings.Builder
	var acc uint32
	var bits uint
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(zbase32Alphabet[acc>>bits&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(zbase32Alphabet[acc<<(5-bits)&31])
	}
	return sb.String()
}

func zbase32Decode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)*5/8)
	var acc uint32
	var bits uint
	for i := 0; i < len(s); i++ {
		v := strings.IndexByte(zbase32Alphabet, s[i])
		if v < 0 {
			return nil, fmt.Errorf("%w: invalid zbase32 character", ErrBadSignature)
		}
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out, nil
}
