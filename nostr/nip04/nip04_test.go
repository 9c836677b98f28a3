package nip04

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// The public vector quoted in NIP47.md §8.1 (nostr-tools nip04.test.ts).
const (
	vecSK1     = "91ba716fa9e7ea2fcbad360cf4f8e0d312f73984da63d90f524ad61a6a1e7dbe"
	vecPK1     = "b38ce15d3d9874ee710dfabb7ff9801b1e0e20aace6e9a1a05fa7482a04387d1"
	vecSK2     = "96f6fa197aa07477ab88f6981118466ae3a982faab8ad5db9d5426870c73d220"
	vecContent = "zJxfaJ32rN5Dg1ODjOlEew==?iv=EV5bUjcc4OX2Km/zPp4ndQ=="
)

func mustKey(t testing.TB, s string) *nostr.SecretKey {
	t.Helper()
	sk, err := nostr.ParseSecretKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestVector(t *testing.T) {
	sk1, sk2 := mustKey(t, vecSK1), mustKey(t, vecSK2)
	if got := sk1.Public().String(); got != vecPK1 {
		t.Fatalf("pk1 = %s, want %s", got, vecPK1)
	}
	k21, err := SharedKey(sk2, sk1.Public())
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Decrypt(vecContent, k21)
	if err != nil || pt != "nanana" {
		t.Fatalf("Decrypt = %q, %v; want nanana", pt, err)
	}
	// The key is symmetric and encrypting with the vector's IV reproduces the content.
	k12, err := SharedKey(sk1, sk2.Public())
	if err != nil || k12 != k21 {
		t.Fatalf("shared key not symmetric: %v", err)
	}
	iv, _ := base64.StdEncoding.DecodeString("EV5bUjcc4OX2Km/zPp4ndQ==")
	got, err := EncryptWithIV("nanana", k12, [16]byte(iv))
	if err != nil || got != vecContent {
		t.Fatalf("EncryptWithIV = %q, %v; want %q", got, err, vecContent)
	}
}

func TestRoundTrip(t *testing.T) {
	a, b := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	kab, err := SharedKey(a, b.Public())
	if err != nil {
		t.Fatal(err)
	}
	kba, err := SharedKey(b, a.Public())
	if err != nil || kab != kba {
		t.Fatalf("shared key not symmetric: %v", err)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 300, 800, 70000} {
		pt := strings.Repeat("z", n)
		content, err := Encrypt(pt, kab)
		if err != nil {
			t.Fatal(err)
		}
		ctText, _, _ := strings.Cut(content, "?iv=")
		if want := base64.StdEncoding.EncodedLen((n/16 + 1) * 16); len(ctText) != want {
			t.Errorf("len %d: ciphertext text %d chars, want %d", n, len(ctText), want)
		}
		got, err := Decrypt(content, kba)
		if err != nil || got != pt {
			t.Errorf("len %d: round trip: %v", n, err)
		}
	}
	c1, _ := Encrypt("same", kab)
	c2, _ := Encrypt("same", kab)
	if c1 == c2 {
		t.Error("two encryptions share an IV")
	}
}

// rawCBC encrypts raw blocks without adding padding, to build bad-padding inputs.
func rawCBC(t *testing.T, key [32]byte, iv [16]byte, plain []byte) string {
	t.Helper()
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(ct, plain)
	return base64.StdEncoding.EncodeToString(ct) + "?iv=" + base64.StdEncoding.EncodeToString(iv[:])
}

func TestDecryptMalformed(t *testing.T) {
	var key, other [32]byte
	key[0], other[0] = 1, 2
	iv := [16]byte{9: 9}
	good, err := EncryptWithIV("hello world", key, iv)
	if err != nil {
		t.Fatal(err)
	}
	ctText, ivText, _ := strings.Cut(good, "?iv=")
	b64 := base64.StdEncoding.EncodeToString
	block := func(last ...byte) []byte { return append(bytes.Repeat([]byte{'a'}, 16-len(last)), last...) }
	tests := []struct {
		name    string
		content string
		key     [32]byte
		want    error
	}{
		{"no separator", ctText + ivText, key, ErrInvalidContent},
		{"empty", "", key, ErrInvalidContent},
		{"empty ciphertext", "?iv=" + ivText, key, ErrInvalidContent},
		{"empty iv", ctText + "?iv=", key, ErrInvalidContent},
		{"two separators", good + "?iv=" + ivText, key, ErrInvalidContent},
		{"short iv", ctText + "?iv=" + b64(make([]byte, 12)), key, ErrInvalidContent},
		{"long iv", ctText + "?iv=" + b64(make([]byte, 17)), key, ErrInvalidContent},
		{"iv not base64", ctText + "?iv=" + strings.Repeat("*", 24), key, ErrInvalidContent},
		{"ciphertext 15 bytes", b64(make([]byte, 15)) + "?iv=" + ivText, key, ErrInvalidContent},
		{"ciphertext 17 bytes", b64(make([]byte, 17)) + "?iv=" + ivText, key, ErrInvalidContent},
		{"ciphertext not base64", strings.Repeat("!", 24) + "?iv=" + ivText, key, ErrInvalidContent},
		{"ciphertext unpadded", strings.TrimRight(ctText, "=") + "?iv=" + ivText, key, ErrInvalidContent},
		{"newline in ciphertext", ctText[:4] + "\n" + ctText[4:len(ctText)-4] + ctText[len(ctText)-3:] + "?iv=" + ivText, key, ErrInvalidContent},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64([]byte{0xfb, 0xff, 0xbf})) + strings.Repeat("A", 20) + "?iv=" + ivText, key, ErrInvalidContent},
		{"padding byte 0", rawCBC(t, key, iv, block(0)), key, ErrInvalidPadding},
		{"padding byte 17", rawCBC(t, key, iv, block(17)), key, ErrInvalidPadding},
		{"padding inconsistent", rawCBC(t, key, iv, block(3, 2, 3)), key, ErrInvalidPadding},
		{"padding 16 inconsistent", rawCBC(t, key, iv, append(bytes.Repeat([]byte{16}, 15), 15)), key, ErrInvalidPadding},
		{"wrong key", good, other, ErrInvalidPadding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if pt, err := Decrypt(tc.content, tc.key); !errors.Is(err, tc.want) {
				t.Errorf("Decrypt(%q) = %q, %v; want %v", tc.content, pt, err, tc.want)
			}
		})
	}
	// Valid padding edge cases decrypt.
	for _, tc := range []struct {
		plain []byte
		want  string
	}{
		{block(1), strings.Repeat("a", 15)},
		{block(2, 2), strings.Repeat("a", 14)},
		{bytes.Repeat([]byte{16}, 16), ""},
	} {
		if got, err := Decrypt(rawCBC(t, key, iv, tc.plain), key); err != nil || got != tc.want {
			t.Errorf("padding %v: %q, %v", tc.plain[12:], got, err)
		}
	}
}

func TestCache(t *testing.T) {
	service := nostr.GenerateSecretKey()
	peers := []*nostr.SecretKey{nostr.GenerateSecretKey(), nostr.GenerateSecretKey(), nostr.GenerateSecretKey()}
	c := NewCache(2)
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				p := peers[(g+i)%len(peers)]
				got, err := c.Get(service, p.Public())
				want, err2 := SharedKey(p, service.Public())
				if err != nil || err2 != nil || got != want {
					t.Errorf("cached key differs from the peer's: %v %v", err, err2)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Len(); n < 1 || n > 2 {
		t.Errorf("Len = %d, want 1..2", n)
	}
	if _, err := c.Get(service, nostr.PublicKey{}); !errors.Is(err, nostr.ErrInvalidPublicKey) {
		t.Errorf("invalid peer: %v", err)
	}
}
