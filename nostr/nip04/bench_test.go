package nip04

import (
	"strings"
	"testing"
)

var msg300 = strings.Repeat(`{"method":"pay_invoice","params":{"invoice":"lnbc1"}}`, 6)[:300]

func benchKey(b *testing.B) [32]byte {
	b.Helper()
	k, err := SharedKey(mustKey(b, vecSK2), mustKey(b, vecSK1).Public())
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func BenchmarkEncrypt300(b *testing.B) {
	k := benchKey(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg300)))
	for b.Loop() {
		if _, err := Encrypt(msg300, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt300(b *testing.B) {
	k := benchKey(b)
	content, err := Encrypt(msg300, k)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg300)))
	for b.Loop() {
		if _, err := Decrypt(content, k); err != nil {
			b.Fatal(err)
		}
	}
}
