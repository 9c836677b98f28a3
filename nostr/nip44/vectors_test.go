package nip44

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// The official NIP-44 vectors (paulmillr/nip44), copied unchanged into testdata so the tests
// run on a fresh clone; their sha256 is the checksum published inside NIP-44, checked below
// so the copy can never drift. When the shared copy beside the checkout exists
// (../shared/testdata), it must be identical.
const (
	vectorsPath       = "testdata/nip44.vectors.json"
	sharedVectorsPath = "../../../shared/testdata/nip44.vectors.json"
	vectorsSHA256     = "269ed0f69e4c192512cc779e78c555090cebc7c785b609e338a62afc3ce25040"
)

type vectorFile struct {
	V2 struct {
		Valid struct {
			GetConversationKey []struct {
				Sec1            string `json:"sec1"`
				Pub2            string `json:"pub2"`
				ConversationKey string `json:"conversation_key"`
			} `json:"get_conversation_key"`
			GetMessageKeys struct {
				ConversationKey string `json:"conversation_key"`
				Keys            []struct {
					Nonce       string `json:"nonce"`
					ChachaKey   string `json:"chacha_key"`
					ChachaNonce string `json:"chacha_nonce"`
					HmacKey     string `json:"hmac_key"`
				} `json:"keys"`
			} `json:"get_message_keys"`
			CalcPaddedLen  [][2]int `json:"calc_padded_len"`
			EncryptDecrypt []struct {
				Sec1            string `json:"sec1"`
				Sec2            string `json:"sec2"`
				ConversationKey string `json:"conversation_key"`
				Nonce           string `json:"nonce"`
				Plaintext       string `json:"plaintext"`
				Payload         string `json:"payload"`
			} `json:"encrypt_decrypt"`
			EncryptDecryptLongMsg []struct {
				ConversationKey string `json:"conversation_key"`
				Nonce           string `json:"nonce"`
				Pattern         string `json:"pattern"`
				Repeat          int    `json:"repeat"`
				PlaintextSHA256 string `json:"plaintext_sha256"`
				PayloadSHA256   string `json:"payload_sha256"`
			} `json:"encrypt_decrypt_long_msg"`
		} `json:"valid"`
		Invalid struct {
			EncryptMsgLengths  []int `json:"encrypt_msg_lengths"`
			GetConversationKey []struct {
				Sec1 string `json:"sec1"`
				Pub2 string `json:"pub2"`
				Note string `json:"note"`
			} `json:"get_conversation_key"`
			Decrypt []struct {
				ConversationKey string `json:"conversation_key"`
				Nonce           string `json:"nonce"`
				Plaintext       string `json:"plaintext"`
				Payload         string `json:"payload"`
				Note            string `json:"note"`
			} `json:"decrypt"`
		} `json:"invalid"`
	} `json:"v2"`
}

// loadVectors reads the vector file; a missing file fails the test rather than skipping it.
func loadVectors(tb testing.TB) (*vectorFile, []byte) {
	tb.Helper()
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		tb.Fatalf("NIP-44 vectors are required: %v", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != vectorsSHA256 {
		tb.Fatalf("%s has sha256 %x, want the published %s", vectorsPath, sum, vectorsSHA256)
	}
	if shared, err := os.ReadFile(sharedVectorsPath); err == nil && string(shared) != string(data) {
		tb.Fatalf("%s differs from the shared copy %s", vectorsPath, sharedVectorsPath)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatalf("decode vectors: %v", err)
	}
	return &v, data
}

// sectionSizes counts the entries of every section generically, independent of the typed
// struct, so that a misspelled JSON tag cannot make a section silently empty.
func sectionSizes(t *testing.T, data []byte) map[string]int {
	t.Helper()
	var raw struct {
		V2 map[string]map[string]json.RawMessage `json:"v2"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int)
	for validity, sections := range raw.V2 {
		for name, body := range sections {
			var list []json.RawMessage
			if err := json.Unmarshal(body, &list); err != nil {
				// get_message_keys is an object holding the list under "keys".
				var obj struct {
					Keys []json.RawMessage `json:"keys"`
				}
				if err := json.Unmarshal(body, &obj); err != nil {
					t.Fatalf("section %s.%s: %v", validity, name, err)
				}
				list = obj.Keys
			}
			out[validity+"."+name] = len(list)
		}
	}
	return out
}

func mustHex32(t testing.TB, s string) [32]byte {
	t.Helper()
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad 32-byte hex %q", s)
	}
	copy(out[:], b)
	return out
}

func mustSecret(t testing.TB, s string) *nostr.SecretKey {
	t.Helper()
	sk, err := nostr.ParseSecretKey(s)
	if err != nil {
		t.Fatalf("secret key %q: %v", s, err)
	}
	return sk
}

func TestVectors(t *testing.T) {
	v, data := loadVectors(t)
	ran := make(map[string]int)

	t.Run("valid/get_conversation_key", func(t *testing.T) {
		for _, tc := range v.V2.Valid.GetConversationKey {
			ck, err := ConversationKey(mustSecret(t, tc.Sec1), nostr.PublicKey(mustHex32(t, tc.Pub2)))
			if err != nil {
				t.Fatalf("sec1 %s pub2 %s: %v", tc.Sec1, tc.Pub2, err)
			}
			if got := hex.EncodeToString(ck[:]); got != tc.ConversationKey {
				t.Errorf("sec1 %s pub2 %s: got %s want %s", tc.Sec1, tc.Pub2, got, tc.ConversationKey)
			}
			ran["valid.get_conversation_key"]++
		}
	})

	t.Run("valid/get_message_keys", func(t *testing.T) {
		ck := mustHex32(t, v.V2.Valid.GetMessageKeys.ConversationKey)
		for _, tc := range v.V2.Valid.GetMessageKeys.Keys {
			key, nonce, mac := MessageKeys(ck, mustHex32(t, tc.Nonce))
			if hex.EncodeToString(key[:]) != tc.ChachaKey || hex.EncodeToString(nonce[:]) != tc.ChachaNonce ||
				hex.EncodeToString(mac[:]) != tc.HmacKey {
				t.Errorf("nonce %s: got %x %x %x", tc.Nonce, key, nonce, mac)
			}
			ran["valid.get_message_keys"]++
		}
	})

	t.Run("valid/calc_padded_len", func(t *testing.T) {
		for _, tc := range v.V2.Valid.CalcPaddedLen {
			got, err := CalcPaddedLen(tc[0])
			if err != nil || got != tc[1] {
				t.Errorf("CalcPaddedLen(%d) = %d, %v; want %d", tc[0], got, err, tc[1])
			}
			ran["valid.calc_padded_len"]++
		}
	})

	t.Run("valid/encrypt_decrypt", func(t *testing.T) {
		for _, tc := range v.V2.Valid.EncryptDecrypt {
			sk1, sk2 := mustSecret(t, tc.Sec1), mustSecret(t, tc.Sec2)
			ck1, err := ConversationKey(sk1, sk2.Public())
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(ck1[:]) != tc.ConversationKey {
				t.Errorf("%q: conversation key %x, want %s", tc.Plaintext, ck1, tc.ConversationKey)
			}
			payload, err := EncryptWithNonce(tc.Plaintext, ck1, mustHex32(t, tc.Nonce))
			if err != nil || payload != tc.Payload {
				t.Errorf("%q: encrypt = %q, %v; want %q", tc.Plaintext, payload, err, tc.Payload)
			}
			// The other direction derives its own key from sec2 and pub1.
			ck2, err := ConversationKey(sk2, sk1.Public())
			if err != nil {
				t.Fatal(err)
			}
			pt, err := Decrypt(tc.Payload, ck2)
			if err != nil || pt != tc.Plaintext {
				t.Errorf("%q: decrypt = %q, %v", tc.Plaintext, pt, err)
			}
			ran["valid.encrypt_decrypt"]++
		}
	})

	t.Run("valid/encrypt_decrypt_long_msg", func(t *testing.T) {
		for _, tc := range v.V2.Valid.EncryptDecryptLongMsg {
			pt := strings.Repeat(tc.Pattern, tc.Repeat)
			if sum := sha256.Sum256([]byte(pt)); hex.EncodeToString(sum[:]) != tc.PlaintextSHA256 {
				t.Fatalf("%q×%d: plaintext sha256 %x", tc.Pattern, tc.Repeat, sum)
			}
			ck := mustHex32(t, tc.ConversationKey)
			payload, err := EncryptWithNonce(pt, ck, mustHex32(t, tc.Nonce))
			if err != nil {
				t.Fatalf("%q×%d: %v", tc.Pattern, tc.Repeat, err)
			}
			if sum := sha256.Sum256([]byte(payload)); hex.EncodeToString(sum[:]) != tc.PayloadSHA256 {
				t.Errorf("%q×%d: payload sha256 %x, want %s", tc.Pattern, tc.Repeat, sum, tc.PayloadSHA256)
			}
			if got, err := Decrypt(payload, ck); err != nil || got != pt {
				t.Errorf("%q×%d: decrypt round trip failed: %v", tc.Pattern, tc.Repeat, err)
			}
			ran["valid.encrypt_decrypt_long_msg"]++
		}
	})

	t.Run("invalid/encrypt_msg_lengths", func(t *testing.T) {
		var ck, nonce [32]byte
		ck[0], nonce[0] = 1, 2
		for _, n := range v.V2.Invalid.EncryptMsgLengths {
			if _, err := EncryptWithNonce(strings.Repeat("a", n), ck, nonce); !errors.Is(err, ErrMessageLength) {
				t.Errorf("length %d: err = %v, want ErrMessageLength", n, err)
			}
			ran["invalid.encrypt_msg_lengths"]++
		}
	})

	t.Run("invalid/get_conversation_key", func(t *testing.T) {
		for _, tc := range v.V2.Invalid.GetConversationKey {
			switch {
			case strings.HasPrefix(tc.Note, "sec1"):
				if _, err := nostr.ParseSecretKey(tc.Sec1); !errors.Is(err, nostr.ErrInvalidSecretKey) {
					t.Errorf("%s: err = %v, want ErrInvalidSecretKey", tc.Note, err)
				}
			case strings.HasPrefix(tc.Note, "pub2"):
				// Build the key without validation so that ConversationKey's own check runs.
				_, err := ConversationKey(mustSecret(t, tc.Sec1), nostr.PublicKey(mustHex32(t, tc.Pub2)))
				if !errors.Is(err, nostr.ErrInvalidPublicKey) {
					t.Errorf("%s: err = %v, want ErrInvalidPublicKey", tc.Note, err)
				}
			default:
				t.Fatalf("unexpected note %q", tc.Note)
			}
			ran["invalid.get_conversation_key"]++
		}
	})

	t.Run("invalid/decrypt", func(t *testing.T) {
		for _, tc := range v.V2.Invalid.Decrypt {
			var want error
			switch {
			case tc.Payload == "":
				want = ErrUnknownVersion // NIP-44: an empty payload is an unknown version
			case strings.HasPrefix(tc.Note, "unknown encryption version"):
				want = ErrUnknownVersion
			case strings.HasPrefix(tc.Note, "invalid base64"), strings.HasPrefix(tc.Note, "invalid payload length"):
				want = ErrInvalidPayload
			case strings.HasPrefix(tc.Note, "invalid MAC"):
				want = ErrInvalidMAC
			case strings.HasPrefix(tc.Note, "invalid padding"):
				want = ErrInvalidPadding
			default:
				t.Fatalf("unexpected note %q", tc.Note)
			}
			if pt, err := Decrypt(tc.Payload, mustHex32(t, tc.ConversationKey)); !errors.Is(err, want) {
				t.Errorf("%s: Decrypt = %q, %v; want %v", tc.Note, pt, err, want)
			}
			ran["invalid.decrypt"]++
		}
	})

	// Every section of the file must have run completely; the documented sizes catch a
	// truncated file.
	documented := map[string]int{
		"valid.get_conversation_key":     35,
		"valid.get_message_keys":         32,
		"valid.calc_padded_len":          24,
		"valid.encrypt_decrypt":          10,
		"valid.encrypt_decrypt_long_msg": 3,
		"invalid.encrypt_msg_lengths":    4,
		"invalid.get_conversation_key":   8,
		"invalid.decrypt":                12,
	}
	inFile := sectionSizes(t, data)
	if len(inFile) != len(documented) {
		t.Errorf("file has sections %v, want exactly %d", inFile, len(documented))
	}
	for name, want := range documented {
		if inFile[name] != want || ran[name] != want {
			t.Errorf("section %s: %d in file, %d run, want %d", name, inFile[name], ran[name], want)
		}
	}
}
