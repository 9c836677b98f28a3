package nostr

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	secp "github.com/decred/dcrd/dcrec/secp256k1/v4"
)

const (
	testSecretHex = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa"
	testNsec      = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
	testPubHex    = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"
	testNpub      = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6"
	// The public key of testSecretHex (the NIP-19 example pair npub10elfcs4f…).
	testSecretPubHex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
)

func mustSecret(t testing.TB, s string) *SecretKey {
	t.Helper()
	sk, err := ParseSecretKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestSecretKeyRedacted(t *testing.T) {
	sk := mustSecret(t, testSecretHex)
	type holder struct {
		Key   *SecretKey
		Value SecretKey
	}
	h := holder{Key: sk, Value: *sk}
	var outputs []string
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, sk), fmt.Sprintf(verb, *sk), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outputs = append(outputs, fmt.Sprint(sk), fmt.Sprintln(*sk), sk.String())
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "sk", sk, "value", *sk)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("key", "sk", sk, "value", *sk)
	outputs = append(outputs, logged.String())

	// Any sign of the secret: its hex, nsec, or the scalar's internal words.
	words := fmt.Sprint(sk.key.Key)
	for _, out := range outputs {
		for _, secret := range []string{testSecretHex, strings.ToUpper(testSecretHex), testNsec, testSecretHex[:16], words} {
			if strings.Contains(out, secret) {
				t.Fatalf("output %q reveals the secret", out)
			}
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", h), "SecretKey(redacted)") {
		t.Errorf("redacted marker missing from %v", h)
	}
	for _, v := range []any{sk, *sk, h, &h} {
		if b, err := json.Marshal(v); err == nil || strings.Contains(string(b), testSecretHex) {
			t.Errorf("json.Marshal(%T) = %s, %v; want an error", v, b, err)
		}
	}
	// The explicit accessors do reveal it.
	if sk.Hex() != testSecretHex || EncodeNsec(sk) != testNsec {
		t.Errorf("Hex/EncodeNsec do not round-trip")
	}
}

func TestParseKeys(t *testing.T) {
	sk := mustSecret(t, strings.ToUpper(testSecretHex)) // secret keys accept either case
	if sk.Public().String() != testSecretPubHex {
		t.Fatalf("public key %s, want %s", sk.Public(), testSecretPubHex)
	}
	secretTests := []string{
		"", testSecretHex[:62], testSecretHex + "00", "zz" + testSecretHex[2:],
		strings.Repeat("0", 64),
		"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", // n
		strings.Repeat("f", 64),
	}
	for _, s := range secretTests {
		if _, err := ParseSecretKey(s); !errors.Is(err, ErrInvalidSecretKey) {
			t.Errorf("ParseSecretKey(%q): %v, want ErrInvalidSecretKey", s, err)
		}
	}
	pubTests := []string{
		"", testPubHex[:62], strings.ToUpper(testPubHex), testPubHex + "00",
		strings.Repeat("0", 64), // x = 0 is not on the curve
		strings.Repeat("f", 64), // x >= p
	}
	for _, s := range pubTests {
		if _, err := ParsePublicKey(s); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("ParsePublicKey(%q): %v, want ErrInvalidPublicKey", s, err)
		}
	}
	var pk PublicKey
	if err := json.Unmarshal([]byte(`"`+testPubHex+`"`), &pk); err != nil || pk.String() != testPubHex {
		t.Errorf("PublicKey JSON: %v", err)
	}
	if b, err := json.Marshal(pk); err != nil || string(b) != `"`+testPubHex+`"` {
		t.Errorf("PublicKey marshal: %s %v", b, err)
	}
}

func TestSharedX(t *testing.T) {
	for range 20 {
		a, b := GenerateSecretKey(), GenerateSecretKey()
		ab, err := SharedX(a, b.Public())
		if err != nil {
			t.Fatal(err)
		}
		ba, err := SharedX(b, a.Public())
		if err != nil || ab != ba {
			t.Fatalf("SharedX not symmetric: %v", err)
		}
		// Independent computation: decred's ECDH on the even-y lift of b's key.
		lifted, err := secp.ParsePubKey(append([]byte{2}, b.pub[:]...))
		if err != nil {
			t.Fatal(err)
		}
		want := secp.GenerateSharedSecret(a.BTCEC(), lifted)
		if hex.EncodeToString(ab[:]) != hex.EncodeToString(want) {
			t.Fatalf("SharedX = %x, decred says %x", ab, want)
		}
	}
	sk := GenerateSecretKey()
	bad := []string{
		strings.Repeat("0", 64), // not on the curve
		strings.Repeat("f", 64), // x >= p
		"fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f", // x = p
		"eb1f7200aecaa86682376fb1c13cd12b732221e774f553b0a0857f88fa20f86d", // on the twist
	}
	for _, s := range bad {
		var pk PublicKey
		hex.Decode(pk[:], []byte(s))
		if _, err := SharedX(sk, pk); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("SharedX(%s): %v, want ErrInvalidPublicKey", s, err)
		}
	}
	pub := sk.Public()
	if _, err := SharedX(nil, pub); !errors.Is(err, ErrInvalidSecretKey) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := SharedX(&SecretKey{}, pub); !errors.Is(err, ErrInvalidSecretKey) {
		t.Errorf("zero key: %v", err)
	}
}
