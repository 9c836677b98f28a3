package nostr

import (
	"strings"
	"testing"
)

func benchEvent(b *testing.B) (*SecretKey, Event) {
	b.Helper()
	sk, err := ParseSecretKey("67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa")
	if err != nil {
		b.Fatal(err)
	}
	ev := Event{
		CreatedAt: 1700000000,
		Kind:      23194,
		Tags:      Tags{{"p", "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"}, {"encryption", "nip44_v2"}},
		Content:   strings.Repeat("A", 516),
	}
	return sk, ev
}

// BenchmarkSign measures id computation plus signing, as a service does per response.
func BenchmarkSign(b *testing.B) {
	sk, ev := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.Sign(sk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures id recomputation plus signature verification.
func BenchmarkVerify(b *testing.B) {
	sk, ev := benchEvent(b)
	if err := ev.Sign(sk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.VerifyNoCache(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached measures Verify of an event this process already signed: the
// id is recomputed, the signature found in the cache.
func BenchmarkVerifyCached(b *testing.B) {
	sk, ev := benchEvent(b)
	if err := ev.Sign(sk); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.Verify(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSharedX(b *testing.B) {
	sk, _ := benchEvent(b)
	pub, err := ParsePublicKey("3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SharedX(sk, pub); err != nil {
			b.Fatal(err)
		}
	}
}
