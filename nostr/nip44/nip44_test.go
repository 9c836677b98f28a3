package nip44

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

func TestHMACSumMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, n := range []int{0, 1, 33, 55, 56, 64, 65, 100, 128} {
		var key [blockSize]byte
		for i := range 32 { // our keys are at most 32 bytes, zero-padded to the block
			key[i] = byte(r.Uint32())
		}
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		m := hmac.New(sha256.New, key[:32])
		m.Write(msg)
		want := m.Sum(nil)
		if got := hmacSum(&key, msg); !hmac.Equal(got[:], want) {
			t.Errorf("len %d: hmacSum differs from crypto/hmac", n)
		}
		hk := [32]byte(key[:32])
		buf := append(make([]byte, blockSize), msg...)
		if got := macSum(&hk, buf); !hmac.Equal(got[:], want) {
			t.Errorf("len %d: macSum differs from crypto/hmac", n)
		}
	}
}

func TestCalcPaddedLen(t *testing.T) {
	tests := []struct {
		n, want int
		err     bool
	}{
		{0, 0, true}, {-1, 0, true}, {1, 32, false}, {32, 32, false}, {33, 64, false}, {65, 96, false},
		{100, 128, false}, {257, 320, false}, {320, 320, false}, {383, 384, false}, {515, 640, false},
		{1020, 1024, false}, {65535, 65536, false}, {65536, 65536, false}, {65537, 81920, false},
		{1<<32 - 1, 1 << 32, false}, {1 << 32, 0, true},
	}
	for _, tc := range tests {
		got, err := CalcPaddedLen(tc.n)
		if tc.err {
			if !errors.Is(err, ErrMessageLength) {
				t.Errorf("CalcPaddedLen(%d): err = %v, want ErrMessageLength", tc.n, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CalcPaddedLen(%d) = %d, %v; want %d", tc.n, got, err, tc.want)
		}
	}
}

func TestRoundTripLengths(t *testing.T) {
	a, b := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	ab, err := ConversationKey(a, b.Public())
	if err != nil {
		t.Fatal(err)
	}
	ba, err := ConversationKey(b, a.Public())
	if err != nil || ab != ba {
		t.Fatalf("conversation key not symmetric: %v", err)
	}
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	// Boundaries of the padding chunks, of the stack buffer (around 1900 bytes) and of the limit.
	for _, n := range []int{1, 2, 31, 32, 33, 256, 257, 300, 1800, 1900, 1951, 1952, 2000, 4096, 65535} {
		pt := make([]byte, n)
		for i := range pt {
			pt[i] = byte(r.Uint32())
		}
		payload, err := Encrypt(string(pt), ab)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		padded, _ := CalcPaddedLen(n)
		if want := base64.StdEncoding.EncodedLen(1 + 32 + 2 + padded + 32); len(payload) != want {
			t.Errorf("len %d: payload length %d, want %d", n, len(payload), want)
		}
		got, err := Decrypt(payload, ba)
		if err != nil || got != string(pt) {
			t.Errorf("len %d: round trip failed: %v", n, err)
		}
	}
}

func TestEncryptUsesFreshNonce(t *testing.T) {
	var ck [32]byte
	ck[0] = 7
	p1, err1 := Encrypt("hello", ck)
	p2, err2 := Encrypt("hello", ck)
	if err1 != nil || err2 != nil || p1 == p2 {
		t.Fatalf("two encryptions: %q %q (%v, %v)", p1, p2, err1, err2)
	}
}

func TestDecryptRejectsTampering(t *testing.T) {
	var ck, nonce [32]byte
	ck[0], nonce[0] = 3, 4
	// 33 bytes pad to 64: 131 raw bytes, so the base64 form ends in one '='.
	payload, err := EncryptWithNonce(strings.Repeat("z", 33), ck, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(payload, "=") || strings.HasSuffix(payload, "==") {
		t.Fatalf("payload %q should end in exactly one '='", payload)
	}
	raw, _ := base64.StdEncoding.DecodeString(payload)
	enc := base64.StdEncoding.EncodeToString
	flip := func(i int) string {
		c := append([]byte(nil), raw...)
		c[i] ^= 1
		return enc(c)
	}
	// The character before '=' carries 4 data bits and 2 unused bits; setting an unused
	// bit gives a non-canonical encoding of the same bytes, which a lenient decoder accepts.
	last := strings.IndexByte(base64Alphabet, payload[len(payload)-2])
	nonCanonical := payload[:len(payload)-2] + string(base64Alphabet[last^1]) + "="
	var otherKey [32]byte
	otherKey[0] = 9
	tests := []struct {
		name    string
		payload string
		key     [32]byte
		want    error
	}{
		{"version byte", flip(0), ck, ErrUnknownVersion},
		{"nonce", flip(5), ck, ErrInvalidMAC},
		{"ciphertext", flip(40), ck, ErrInvalidMAC},
		{"mac", flip(len(raw) - 1), ck, ErrInvalidMAC},
		{"wrong key", payload, otherKey, ErrInvalidMAC},
		{"truncated", enc(raw[:len(raw)-3]), ck, ErrInvalidMAC},
		{"extended", enc(append(append([]byte(nil), raw...), 0, 0, 0)), ck, ErrInvalidMAC},
		{"non-canonical base64", nonCanonical, ck, ErrInvalidPayload},
		{"missing padding", strings.TrimSuffix(payload, "="), ck, ErrInvalidPayload},
		{"newline inside", payload[:40] + "\n" + payload[40:len(payload)-4] + payload[len(payload)-3:], ck, ErrInvalidPayload},
		{"bad character", payload[:10] + "-" + payload[11:], ck, ErrInvalidPayload},
		{"hash prefix", "#" + payload[1:], ck, ErrUnknownVersion},
		{"empty", "", ck, ErrUnknownVersion},
		{"too short", payload[:128], ck, ErrInvalidPayload},
		{"too long", strings.Repeat("A", maxPayload+4), ck, ErrInvalidPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if pt, err := Decrypt(tc.payload, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("Decrypt = %q, %v; want %v", pt, err, tc.want)
			}
		})
	}
	if got, err := Decrypt(payload, ck); err != nil || got != strings.Repeat("z", 33) {
		t.Errorf("untouched payload: %q, %v", got, err)
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	var ck, nonce [32]byte
	ck[0], nonce[0] = 1, 2
	pt := strings.Repeat("a", 300)
	payload, err := EncryptWithNonce(pt, ck, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Encrypt(pt, ck) }); n > 1 {
		t.Errorf("Encrypt of 300 bytes: %v allocations, want <= 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Decrypt(payload, ck) }); n > 1 {
		t.Errorf("Decrypt of 300 bytes: %v allocations, want <= 1", n)
	}
}
