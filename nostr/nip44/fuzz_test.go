package nip44

import (
	"encoding/base64"
	"testing"
)

// FuzzDecrypt feeds arbitrary payloads to Decrypt (it must fail cleanly or return a
// plaintext whose re-encryption gives the same payload), and also uses the input as a
// plaintext for an encrypt/decrypt round trip.
func FuzzDecrypt(f *testing.F) {
	v, _ := loadVectors(f)
	for _, tc := range v.V2.Valid.EncryptDecrypt {
		ck := mustHex32(f, tc.ConversationKey)
		f.Add(tc.Payload, ck[:])
	}
	for _, tc := range v.V2.Invalid.Decrypt {
		ck := mustHex32(f, tc.ConversationKey)
		f.Add(tc.Payload, ck[:])
	}
	f.Fuzz(func(t *testing.T, payload string, key []byte) {
		var ck [32]byte
		copy(ck[:], key)
		if pt, err := Decrypt(payload, ck); err == nil {
			raw, derr := base64.StdEncoding.DecodeString(payload)
			if derr != nil || len(raw) < minRaw {
				t.Fatalf("accepted a payload that does not decode: %v", derr)
			}
			again, err := EncryptWithNonce(pt, ck, [32]byte(raw[1:33]))
			if err != nil || again != payload {
				t.Fatalf("re-encryption differs: %q, %v", again, err)
			}
		}
		if len(payload) == 0 || len(payload) > maxPlaintext {
			return
		}
		nonce := ck
		nonce[0] ^= 0x5a
		enc, err := EncryptWithNonce(payload, ck, nonce)
		if err != nil {
			t.Fatalf("encrypt %d bytes: %v", len(payload), err)
		}
		if got, err := Decrypt(enc, ck); err != nil || got != payload {
			t.Fatalf("round trip: %q, %v", got, err)
		}
	})
}
