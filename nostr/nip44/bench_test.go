package nip44

import (
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// msg300 is a 300-byte plaintext, the size of a typical NWC request or response.
var msg300 = strings.Repeat(`{"method":"pay_invoice","params":{"invoice":"lnbc1"}}`, 6)[:300]

// benchKeys uses the first get_conversation_key vector: full-size scalars, unlike 1 and 2.
func benchKeys(b *testing.B) (*nostr.SecretKey, nostr.PublicKey, [32]byte) {
	b.Helper()
	sk := mustSecret(b, "315e59ff51cb9209768cf7da80791ddcaae56ac9775eb25b6dee1234bc5d2268")
	pub := nostr.PublicKey(mustHex32(b, "c2f9d9948dc8c7c38321e4b85c8558872eafa0641cd269db76848a6073e69133"))
	ck, err := ConversationKey(sk, pub)
	if err != nil {
		b.Fatal(err)
	}
	return sk, pub, ck
}

func BenchmarkEncrypt300(b *testing.B) {
	_, _, ck := benchKeys(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg300)))
	for b.Loop() {
		if _, err := Encrypt(msg300, ck); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt300(b *testing.B) {
	_, _, ck := benchKeys(b)
	payload, err := Encrypt(msg300, ck)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg300)))
	for b.Loop() {
		if _, err := Decrypt(payload, ck); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConversationKey(b *testing.B) {
	sk, pub, _ := benchKeys(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ConversationKey(sk, pub); err != nil {
			b.Fatal(err)
		}
	}
}
