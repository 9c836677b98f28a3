package nip47

import (
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// A pay_invoice request of about 300 bytes, the common case on the hot path.
func benchRequest(b *testing.B) *Request {
	inv := "lnbc210n1pj" + strings.Repeat("q9xz7w3k", 30)
	req, err := NewRequest(MethodPayInvoice, PayInvoiceParams{Invoice: inv, Amount: 21000})
	if err != nil {
		b.Fatal(err)
	}
	return req
}

func BenchmarkSealPayInvoiceRequest(b *testing.B) {
	client, wallet := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	c := NewCipher(16)
	req := benchRequest(b)
	if _, err := c.SealRequest(client, wallet.Public(), EncryptionNIP44, req, testNow); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.SealRequest(client, wallet.Public(), EncryptionNIP44, req, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenPayInvoiceRequest(b *testing.B) {
	client, wallet := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	c := NewCipher(16)
	ev, err := c.SealRequest(client, wallet.Public(), EncryptionNIP44, benchRequest(b), testNow)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := c.OpenRequest(wallet, ev); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.Run("verify+decrypt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.OpenRequest(wallet, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.DecryptRequest(wallet, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
