package reference

import (
	"strings"
	"testing"

	gonostr "github.com/nbd-wtf/go-nostr/nip44"

	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/nip44"
)

// Keys of the first NIP-44 get_conversation_key vector and a 300-byte plaintext, the size
// of a typical NWC request.
const (
	secHex = "315e59ff51cb9209768cf7da80791ddcaae56ac9775eb25b6dee1234bc5d2268"
	pubHex = "c2f9d9948dc8c7c38321e4b85c8558872eafa0641cd269db76848a6073e69133"
)

var msg300 = strings.Repeat(`{"method":"pay_invoice","params":{"invoice":"lnbc1"}}`, 6)[:300]

func ourKeys(b *testing.B) (*nostr.SecretKey, nostr.PublicKey, [32]byte) {
	b.Helper()
	sk, err := nostr.ParseSecretKey(secHex)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := nostr.ParsePublicKey(pubHex)
	if err != nil {
		b.Fatal(err)
	}
	ck, err := nip44.ConversationKey(sk, pub)
	if err != nil {
		b.Fatal(err)
	}
	return sk, pub, ck
}

// TestSameConversationKey makes sure both libraries compute the same thing, so that the
// benchmarks compare like with like.
func TestSameConversationKey(t *testing.T) {
	sk, err := nostr.ParseSecretKey(secHex)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := nostr.ParsePublicKey(pubHex)
	ours, err := nip44.ConversationKey(sk, pub)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := gonostr.GenerateConversationKey(pubHex, secHex)
	if err != nil || theirs != ours {
		t.Fatalf("conversation keys differ: %x vs %x (%v)", ours, theirs, err)
	}
	payload, err := nip44.Encrypt(msg300, ours)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := gonostr.Decrypt(payload, theirs); err != nil || pt != msg300 {
		t.Fatalf("go-nostr cannot decrypt our payload: %v", err)
	}
	payload, err = gonostr.Encrypt(msg300, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := nip44.Decrypt(payload, ours); err != nil || pt != msg300 {
		t.Fatalf("we cannot decrypt go-nostr's payload: %v", err)
	}
}

func BenchmarkConversationKey(b *testing.B) {
	b.Run("nwc", func(b *testing.B) {
		sk, pub, _ := ourKeys(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nip44.ConversationKey(sk, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-nostr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gonostr.GenerateConversationKey(pubHex, secHex); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncrypt300(b *testing.B) {
	_, _, ck := ourKeys(b)
	b.Run("nwc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nip44.Encrypt(msg300, ck); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-nostr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gonostr.Encrypt(msg300, ck); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecrypt300(b *testing.B) {
	_, _, ck := ourKeys(b)
	payload, err := nip44.Encrypt(msg300, ck)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("nwc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nip44.Decrypt(payload, ck); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-nostr", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := gonostr.Decrypt(payload, ck); err != nil {
				b.Fatal(err)
			}
		}
	})
}
