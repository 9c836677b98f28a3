package lightning

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
)

// Vector from the ln-types crate's verify_lightning_message example (the
// bLIP "General-purpose Lightning signatures" cites the same key and message;
// its printed signature does not verify, this one does).
const (
	blipPubKey  = "029ef8ee0ba895e2807ac1df1987a7888116c468e70f42e7b089e06811b0e45482"
	blipMessage = "I am the author of `ln-types` Rust crate."
	blipSigHex  = "1f29794d9a6a48680f9b8d6097a6d8ef1d5cf9dc27cd769a8658d694001c12b8dd49af2bca0a24d8f45a3b3cc787f048606323f424baa80f5ee6057981e2296f0d"
)

func TestVerifyMessageVector(t *testing.T) {
	raw, _ := hex.DecodeString(blipSigHex)
	sig := zbase32Encode(raw)
	got, err := VerifyMessage(blipMessage, sig)
	if err != nil || got != blipPubKey {
		t.Fatalf("VerifyMessage = %s, %v; want %s", got, err, blipPubKey)
	}
	if got, _ := VerifyMessage(blipMessage+".", sig); got == blipPubKey {
		t.Fatal("changed message still recovers the key")
	}
}

func TestSignMessageRoundTrip(t *testing.T) {
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	want := hex.EncodeToString(key.PubKey().SerializeCompressed())
	for _, msg := range []string{"", "hello", "ナンセンス", string(bytes.Repeat([]byte("x"), 10_000))} {
		sig := SignMessage(key, msg)
		if len(sig) != 104 {
			t.Errorf("signature length %d, want 104", len(sig))
		}
		if sig != SignMessage(key, msg) {
			t.Error("signature not deterministic")
		}
		raw, _ := zbase32Decode(sig)
		if raw[0] < 31 || raw[0] > 34 {
			t.Errorf("header byte %d, want 31..34 (compressed key)", raw[0])
		}
		if got, err := VerifyMessage(msg, sig); err != nil || got != want {
			t.Errorf("VerifyMessage(%.10q) = %s, %v", msg, got, err)
		}
	}
}

func TestVerifyMessageMalformed(t *testing.T) {
	for _, sig := range []string{"", "abc", "0000", zbase32Encode(make([]byte, 64)), zbase32Encode(make([]byte, 65))} {
		if _, err := VerifyMessage("m", sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("VerifyMessage(%q) err = %v, want ErrBadSignature", sig, err)
		}
	}
}

func TestZbase32(t *testing.T) {
	tests := []struct {
		in  []byte
		out string
	}{
		{nil, ""},
		{[]byte{0}, "yy"},
		{[]byte{0xff}, "9h"},
		{[]byte{0xf0, 0xbf, 0xc7}, "6n9hq"},
		{[]byte{0xd4, 0x7a, 0x04}, "4t7ye"},
	}
	for _, tt := range tests {
		if got := zbase32Encode(tt.in); got != tt.out {
			t.Errorf("encode(%x) = %q, want %q", tt.in, got, tt.out)
		}
		if got, err := zbase32Decode(tt.out); err != nil || !bytes.Equal(got, tt.in) {
			t.Errorf("decode(%q) = %x, %v", tt.out, got, err)
		}
	}
}

func FuzzVerifyMessage(f *testing.F) {
	raw, _ := hex.DecodeString(blipSigHex)
	f.Add(blipMessage, zbase32Encode(raw))
	f.Add("", "")
	f.Add("m", "yyyy")
	f.Fuzz(func(t *testing.T, msg, sig string) {
		pub, err := VerifyMessage(msg, sig)
		if err != nil {
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("unexpected error type: %v", err)
			}
			return
		}
		if len(pub) != 66 {
			t.Fatalf("pubkey %q", pub)
		}
	})
}
