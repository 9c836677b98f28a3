// Package nip04 implements the legacy NIP-04 encryption: AES-256-CBC keyed with the
// unhashed ECDH x coordinate, PKCS#7 padding, content "base64(ciphertext)?iv=base64(iv)".
//
// NIP-04 has no authentication: anyone can alter a ciphertext undetected. Use it only for
// peers that cannot speak NIP-44, and only inside events whose signature was verified.
package nip04

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/nwc-go/nwc/nostr"
)

// Errors returned by Decrypt.
var (
	ErrInvalidContent = errors.New("nip04: invalid content")
	ErrInvalidPadding = errors.New("nip04: invalid padding")
)

const ivSep = "?iv="

// b64 is strict so that every content string has exactly one accepted encoding.
var b64 = base64.StdEncoding.Strict()

// SharedKey returns the NIP-04 key for the pair (sk, pub): the unhashed ECDH x coordinate.
func SharedKey(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
	k, err := nostr.SharedX(sk, pub)
	if err != nil {
		return k, fmt.Errorf("nip04: shared key: %w", err)
	}
	return k, nil
}

// Encrypt encrypts plaintext under key with a random IV.
func Encrypt(plaintext string, key [32]byte) (string, error) {
	var iv [aes.BlockSize]byte
	rand.Read(iv[:]) // never fails since Go 1.24
	return EncryptWithIV(plaintext, key, iv)
}

// EncryptWithIV encrypts with a caller-chosen IV; for tests. A repeated IV leaks equal
// message prefixes.
func EncryptWithIV(plaintext string, key [32]byte, iv [aes.BlockSize]byte) (string, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return "", fmt.Errorf("nip04: %w", err)
	}
	// PKCS#7: always 1..16 bytes of padding, each holding the padding length.
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(buf, buf)

	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(buf)) + len(ivSep) + b64.EncodedLen(aes.BlockSize))
	enc := make([]byte, b64.EncodedLen(len(buf)))
	b64.Encode(enc, buf)
	sb.Write(enc)
	sb.WriteString(ivSep)
	var ivText [24]byte
	b64.Encode(ivText[:], iv[:])
	sb.Write(ivText[:])
	return sb.String(), nil
}

// Decrypt parses and decrypts content. It rejects anything but exactly one "?iv="
// separator, canonical padded base64, a 16-byte IV, a ciphertext that is a positive
// multiple of 16 bytes, and valid PKCS#7 padding.
func Decrypt(content string, key [32]byte) (string, error) {
	ctText, ivText, ok := strings.Cut(content, ivSep)
	if !ok || strings.Contains(ivText, ivSep) {
		return "", fmt.Errorf("%w: want one %q separator", ErrInvalidContent, ivSep)
	}
	// 24 base64 characters decode to at most 18 bytes; Decode needs room for all of them.
	var iv [18]byte
	if len(ivText) != b64.EncodedLen(aes.BlockSize) {
		return "", fmt.Errorf("%w: IV must be 16 bytes", ErrInvalidContent)
	}
	if n, err := b64.Decode(iv[:], []byte(ivText)); err != nil || n != aes.BlockSize {
		return "", fmt.Errorf("%w: IV must be 16 bytes of base64", ErrInvalidContent)
	}
	if len(ctText) == 0 || len(ctText)%4 != 0 {
		return "", fmt.Errorf("%w: ciphertext length", ErrInvalidContent)
	}
	ct := make([]byte, b64.DecodedLen(len(ctText)))
	n, err := b64.Decode(ct, []byte(ctText))
	// Go's decoder skips '\r' and '\n', so also require the exact decoded length.
	if err != nil || n != b64.DecodedLen(len(ctText))-strings.Count(ctText[len(ctText)-2:], "=") {
		return "", fmt.Errorf("%w: ciphertext is not base64", ErrInvalidContent)
	}
	ct = ct[:n]
	if n == 0 || n%aes.BlockSize != 0 {
		return "", fmt.Errorf("%w: ciphertext must be a positive multiple of 16 bytes", ErrInvalidContent)
	}
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return "", fmt.Errorf("nip04: %w", err)
	}
	cipher.NewCBCDecrypter(block, iv[:aes.BlockSize]).CryptBlocks(ct, ct)
	pad := int(ct[n-1])
	if !validPadding(ct[n-aes.BlockSize:], pad) {
		return "", ErrInvalidPadding
	}
	return string(ct[:n-pad]), nil
}

// validPadding checks PKCS#7 padding in the last block without branching on its bytes.
func validPadding(last []byte, pad int) bool {
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	for i := range aes.BlockSize {
		// Byte i from the end belongs to the padding when i < pad.
		inPad := subtle.ConstantTimeLessOrEq(i+1, pad)
		same := subtle.ConstantTimeByteEq(last[aes.BlockSize-1-i], byte(pad))
		good &= same | (inPad ^ 1)
	}
	return good == 1
}
