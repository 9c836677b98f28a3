package nip04

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecrypt feeds arbitrary content to Decrypt: it must fail cleanly or return a
// plaintext whose re-encryption with the same IV gives the same content. The input is
// also used as a plaintext for an encrypt/decrypt round trip.
func FuzzDecrypt(f *testing.F) {
	sk1, sk2 := mustKey(f, vecSK1), mustKey(f, vecSK2)
	k, err := SharedKey(sk2, sk1.Public())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		vecContent, "", "?iv=", "zJxfaJ32rN5Dg1ODjOlEew==", "zJxfaJ32rN5Dg1ODjOlEew==?iv=",
		"zJxfaJ32rN5Dg1ODjOlEew==?iv=EV5bUjcc4OX2Km/zPp4ndQ==?iv=EV5bUjcc4OX2Km/zPp4ndQ==",
		"zJxfaJ32rN5Dg1ODjOlEew==?iv=AAAAAAAAAAAAAAAAAAAAAAA=",
	} {
		f.Add(s, k[:])
	}
	f.Fuzz(func(t *testing.T, content string, key []byte) {
		var k [32]byte
		copy(k[:], key)
		if pt, err := Decrypt(content, k); err == nil {
			_, ivText, _ := strings.Cut(content, "?iv=")
			iv, derr := base64.StdEncoding.DecodeString(ivText)
			if derr != nil || len(iv) != 16 {
				t.Fatalf("accepted a bad IV %q", ivText)
			}
			again, err := EncryptWithIV(pt, k, [16]byte(iv))
			if err != nil || again != content {
				t.Fatalf("re-encryption differs: %q, %v", again, err)
			}
		}
		iv := [16]byte(k[:16])
		enc, err := EncryptWithIV(content, k, iv)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decrypt(enc, k); err != nil || got != content {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	})
}
