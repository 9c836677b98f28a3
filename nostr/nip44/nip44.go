// Package nip44 implements NIP-44 version 2 encryption (secp256k1 ECDH, HKDF-SHA256,
// ChaCha20, HMAC-SHA256) with the classic plaintext limit of 1..65535 bytes.
//
// A conversation key depends only on the two key pairs, so a service derives it once per
// peer (see Cache); Encrypt and Decrypt then cost a few microseconds.
package nip44

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/crypto/chacha20"

	"github.com/nwc-go/nwc/nostr"
)

// Errors returned by Decrypt, Encrypt and CalcPaddedLen.
var (
	ErrUnknownVersion = errors.New("nip44: unknown version")
	ErrInvalidPayload = errors.New("nip44: invalid payload")
	ErrInvalidMAC     = errors.New("nip44: invalid MAC")
	ErrInvalidPadding = errors.New("nip44: invalid padding")
	ErrMessageLength  = errors.New("nip44: invalid plaintext length")
)

const (
	version      = 2
	minPlaintext = 1
	maxPlaintext = 65535
	// Raw payload: version(1) || nonce(32) || ciphertext(2+32 .. 2+65536) || mac(32).
	minRaw = 1 + 32 + 2 + 32 + 32
	maxRaw = 1 + 32 + 2 + 65536 + 32
	// Base64 lengths of the raw bounds (standard alphabet, padded).
	minPayload = (minRaw + 2) / 3 * 4
	maxPayload = (maxRaw + 2) / 3 * 4

	blockSize = 64 // SHA-256 block size, the HMAC key block
	// Messages up to this raw size are processed in a stack buffer, without allocating.
	stackBuf = 2048
)

// b64 is strict so that every payload has exactly one accepted encoding.
var b64 = base64.StdEncoding.Strict()

var saltKey = []byte("nip44-v2")

// ConversationKey returns HKDF-Extract(salt "nip44-v2", shared_x) for the pair (sk, pub).
// It is symmetric: ConversationKey(a, B) == ConversationKey(b, A).
func ConversationKey(sk *nostr.SecretKey, pub nostr.PublicKey) ([32]byte, error) {
	x, err := nostr.SharedX(sk, pub)
	if err != nil {
		return [32]byte{}, fmt.Errorf("nip44: conversation key: %w", err)
	}
	var key [blockSize]byte
	copy(key[:], saltKey)
	ck := hmacSum(&key, x[:])
	clear(x[:])
	return ck, nil
}

// MessageKeys derives the per-message keys: HKDF-Expand(convKey, info = nonce, L = 76).
func MessageKeys(convKey, nonce [32]byte) (chachaKey [32]byte, chachaNonce [12]byte, hmacKey [32]byte) {
	var key [blockSize]byte
	copy(key[:], convKey[:])
	// T(i) = HMAC(PRK, T(i-1) || info || i); 76 bytes need three blocks.
	var msg [32 + 32 + 1]byte
	copy(msg[:32], nonce[:])
	msg[32] = 1
	t1 := hmacSum(&key, msg[:33])
	copy(msg[:32], t1[:])
	copy(msg[32:64], nonce[:])
	msg[64] = 2
	t2 := hmacSum(&key, msg[:])
	copy(msg[:32], t2[:])
	msg[64] = 3
	t3 := hmacSum(&key, msg[:])
	chachaKey = t1
	copy(chachaNonce[:], t2[:12])
	copy(hmacKey[:20], t2[12:])
	copy(hmacKey[20:], t3[:12])
	clear(key[:])
	clear(msg[:])
	return chachaKey, chachaNonce, hmacKey
}

// hmacSum is HMAC-SHA256 for a key of at most one block and a message of at most 128
// bytes, computed with sha256.Sum256 on stack buffers so that it never allocates.
func hmacSum(key *[blockSize]byte, msg []byte) [32]byte {
	var inner [blockSize + 128]byte
	for i := range blockSize {
		inner[i] = key[i] ^ 0x36
	}
	n := copy(inner[blockSize:], msg)
	ih := sha256.Sum256(inner[:blockSize+n])
	var outer [blockSize + 32]byte
	for i := range blockSize {
		outer[i] = key[i] ^ 0x5c
	}
	copy(outer[blockSize:], ih[:])
	sum := sha256.Sum256(outer[:])
	clear(inner[:blockSize])
	clear(outer[:blockSize])
	return sum
}

// macSum computes HMAC-SHA256(hmacKey, nonce || ciphertext) where buf holds
// [64 spare bytes | nonce | ciphertext]: the spare block receives key XOR ipad so the
// inner hash is one Sum256 over buf without copying the ciphertext.
func macSum(hmacKey *[32]byte, buf []byte) [32]byte {
	for i := range 32 {
		buf[i] = hmacKey[i] ^ 0x36
	}
	for i := 32; i < blockSize; i++ {
		buf[i] = 0x36
	}
	ih := sha256.Sum256(buf)
	var outer [blockSize + 32]byte
	for i := range 32 {
		outer[i] = hmacKey[i] ^ 0x5c
	}
	for i := 32; i < blockSize; i++ {
		outer[i] = 0x5c
	}
	copy(outer[blockSize:], ih[:])
	return sha256.Sum256(outer[:])
}

// CalcPaddedLen returns the padded size of an n-byte plaintext (without the length
// prefix). It accepts 1..2^32-1 like the specification's function (the vectors include
// 65536), although Encrypt only takes 1..65535 bytes.
func CalcPaddedLen(n int) (int, error) {
	if n < 1 || uint64(n) > 1<<32-1 {
		return 0, fmt.Errorf("%w: got %d", ErrMessageLength, n)
	}
	return calcPaddedLen(n), nil
}

func calcPaddedLen(n int) int {
	if n <= 32 {
		return 32
	}
	nextPower := 1 << bits.Len(uint(n-1)) // 1 << (floor(log2(n-1)) + 1)
	chunk := 32
	if nextPower > 256 {
		chunk = nextPower / 8
	}
	return chunk * ((n-1)/chunk + 1)
}

// Encrypt encrypts plaintext with a fresh random nonce.
func Encrypt(plaintext string, convKey [32]byte) (string, error) {
	var nonce [32]byte
	rand.Read(nonce[:]) // never fails since Go 1.24
	return EncryptWithNonce(plaintext, convKey, nonce)
}

// EncryptWithNonce encrypts with a caller-chosen nonce. Reusing a nonce with the same
// conversation key breaks confidentiality: use it for test vectors only.
func EncryptWithNonce(plaintext string, convKey, nonce [32]byte) (string, error) {
	n := len(plaintext)
	if n < minPlaintext || n > maxPlaintext {
		return "", fmt.Errorf("%w: got %d, want 1..65535 bytes", ErrMessageLength, n)
	}
	ctLen := 2 + calcPaddedLen(n)
	// buf = [HMAC block | nonce | u16 length || plaintext || zeros | mac]; after the MAC
	// the block's last byte becomes the version byte, so buf[63:] is the raw payload.
	size := blockSize + 32 + ctLen + 32
	var stack [stackBuf]byte
	var buf []byte
	if size <= len(stack) {
		buf = stack[:size]
	} else {
		buf = make([]byte, size)
	}
	copy(buf[blockSize:], nonce[:])
	ct := buf[blockSize+32 : blockSize+32+ctLen]
	ct[0], ct[1] = byte(n>>8), byte(n)
	copy(ct[2:], plaintext) // the padding after it is already zero

	chachaKey, chachaNonce, hmacKey := MessageKeys(convKey, nonce)
	c, err := chacha20.NewUnauthenticatedCipher(chachaKey[:], chachaNonce[:])
	if err != nil {
		return "", fmt.Errorf("nip44: %w", err)
	}
	c.XORKeyStream(ct, ct)
	mac := macSum(&hmacKey, buf[:blockSize+32+ctLen])
	copy(buf[blockSize+32+ctLen:], mac[:])
	buf[blockSize-1] = version
	raw := buf[blockSize-1:]
	clear(chachaKey[:])
	clear(hmacKey[:])

	// Encode in chunks of a multiple of 3 bytes straight into the Builder: one allocation.
	var sb strings.Builder
	sb.Grow(b64.EncodedLen(len(raw)))
	var chunk [1024]byte
	const step = len(chunk) / 4 * 3
	for len(raw) > 0 {
		m := min(step, len(raw))
		b64.Encode(chunk[:], raw[:m])
		sb.Write(chunk[:b64.EncodedLen(m)])
		raw = raw[m:]
	}
	return sb.String(), nil
}

// Decrypt authenticates and decrypts a payload. Verify the carrying event's signature first.
func Decrypt(payload string, convKey [32]byte) (string, error) {
	if payload == "" || payload[0] == '#' {
		return "", ErrUnknownVersion
	}
	if len(payload) < minPayload || len(payload) > maxPayload || len(payload)%4 != 0 {
		return "", fmt.Errorf("%w: length %d", ErrInvalidPayload, len(payload))
	}
	// buf = [63 spare bytes | version | nonce | ciphertext | mac]; the spare bytes and the
	// version byte are later overwritten by the HMAC key block.
	size := blockSize - 1 + b64.DecodedLen(len(payload))
	var stack [stackBuf]byte
	var buf []byte
	if size <= len(stack) {
		buf = stack[:size]
	} else {
		buf = make([]byte, size)
	}
	// Go's decoder skips '\r' and '\n'; requiring len(payload)/4*3 - padding decoded bytes
	// rejects them too.
	want := len(payload) / 4 * 3
	if payload[len(payload)-1] == '=' {
		want--
		if payload[len(payload)-2] == '=' {
			want--
		}
	}
	n, err := b64.Decode(buf[blockSize-1:], []byte(payload))
	if err != nil || n != want {
		return "", fmt.Errorf("%w: bad base64", ErrInvalidPayload)
	}
	if n < minRaw || n > maxRaw {
		return "", fmt.Errorf("%w: decoded length %d", ErrInvalidPayload, n)
	}
	buf = buf[:blockSize-1+n]
	if buf[blockSize-1] != version {
		return "", fmt.Errorf("%w: %d", ErrUnknownVersion, buf[blockSize-1])
	}
	var nonce, mac [32]byte
	copy(nonce[:], buf[blockSize:blockSize+32])
	copy(mac[:], buf[len(buf)-32:])
	ctEnd := len(buf) - 32

	chachaKey, chachaNonce, hmacKey := MessageKeys(convKey, nonce)
	defer clear(chachaKey[:])
	defer clear(hmacKey[:])
	sum := macSum(&hmacKey, buf[:ctEnd])
	if !hmac.Equal(sum[:], mac[:]) {
		return "", ErrInvalidMAC
	}
	ct := buf[blockSize+32 : ctEnd]
	c, err := chacha20.NewUnauthenticatedCipher(chachaKey[:], chachaNonce[:])
	if err != nil {
		return "", fmt.Errorf("nip44: %w", err)
	}
	c.XORKeyStream(ct, ct)
	l := int(ct[0])<<8 | int(ct[1])
	if l < minPlaintext || len(ct) != 2+calcPaddedLen(l) {
		return "", ErrInvalidPadding
	}
	pt := string(ct[2 : 2+l])
	clear(ct)
	return pt, nil
}
