package nostr

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Event errors.
var (
	ErrInvalidEvent     = errors.New("nostr: invalid event")
	ErrInvalidID        = errors.New("nostr: event id does not match its content")
	ErrInvalidSignature = errors.New("nostr: invalid signature")
)

// EventID is the SHA-256 of an event's canonical serialisation.
type EventID [32]byte

// String returns lowercase hex.
func (id EventID) String() string { return hex.EncodeToString(id[:]) }

// ParseEventID decodes 64 lowercase hex characters.
func ParseEventID(s string) (EventID, error) {
	var id EventID
	if !IsHex32(s) {
		return id, fmt.Errorf("%w: id must be 64 lowercase hex characters", ErrInvalidEvent)
	}
	hex.Decode(id[:], []byte(s))
	return id, nil
}

// Tag is one tag: a name followed by values.
type Tag []string

// Tags is an event's tag list.
type Tags []Tag

// Find returns the first tag with the given name and at least one value, or nil.
func (t Tags) Find(name string) Tag {
	for _, tag := range t {
		if len(tag) >= 2 && tag[0] == name {
			return tag
		}
	}
	return nil
}

// Value returns the first value of the first tag named name, or "".
func (t Tags) Value(name string) string {
	if tag := t.Find(name); tag != nil {
		return tag[1]
	}
	return ""
}

// Event is a NIP-01 event.
type Event struct {
	ID        EventID
	PubKey    PublicKey
	CreatedAt int64 // unix seconds
	Kind      int
	Tags      Tags
	Content   string
	Sig       [64]byte
}

// Serialize returns the canonical NIP-01 array [0,pubkey,created_at,kind,tags,content]
// whose SHA-256 is the event id.
func (e *Event) Serialize() []byte {
	return e.appendSerialized(make([]byte, 0, 100+len(e.Content)+estimateTags(e.Tags)))
}

func (e *Event) appendSerialized(b []byte) []byte {
	b = append(b, `[0,"`...)
	b = hex.AppendEncode(b, e.PubKey[:])
	b = append(b, `",`...)
	b = strconv.AppendInt(b, e.CreatedAt, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.Kind), 10)
	b = append(b, ',')
	b = appendTags(b, e.Tags)
	b = append(b, ',')
	b = appendString(b, e.Content)
	b = append(b, ']')
	return b
}

// ComputeID returns the id that the event's fields hash to.
func (e *Event) ComputeID() EventID {
	// Typical NWC events fit the stack buffer, which saves an allocation per verify.
	var buf [1024]byte
	return sha256.Sum256(e.appendSerialized(buf[:0]))
}

// Sign sets PubKey, ID and Sig using sk. CreatedAt, Kind, Tags and Content must be set.
func (e *Event) Sign(sk *SecretKey) error {
	e.PubKey = sk.pub
	e.ID = e.ComputeID()
	// Fresh auxiliary randomness, as BIP-340 recommends against side channels. Like
	// libsecp256k1, the new signature is not re-verified: that would cost 4x the signing.
	var aux [32]byte
	rand.Read(aux[:]) // never fails since Go 1.24
	sig, err := signSchnorr(sk, (*[32]byte)(&e.ID), &aux)
	if err != nil {
		return fmt.Errorf("nostr: sign: %w", err)
	}
	e.Sig = sig
	verifiedSigs.add(&e.ID, &e.Sig)
	return nil
}

// Verify checks that the id matches the content and that the signature is valid. The
// BIP-340 check is skipped for an (id, signature) pair this process signed or verified
// recently (see verifiedSigs); the id is always recomputed.
func (e *Event) Verify() error {
	if e.ComputeID() != e.ID {
		return ErrInvalidID
	}
	if verifiedSigs.has(&e.ID, &e.Sig) {
		return nil
	}
	if !verifySchnorr(&e.PubKey, (*[32]byte)(&e.ID), &e.Sig) {
		return ErrInvalidSignature
	}
	verifiedSigs.add(&e.ID, &e.Sig)
	return nil
}

// VerifyNoCache is Verify always doing the BIP-340 check (benchmarks measure it with it).
func (e *Event) VerifyNoCache() error {
	if e.ComputeID() != e.ID {
		return ErrInvalidID
	}
	if !verifySchnorr(&e.PubKey, (*[32]byte)(&e.ID), &e.Sig) {
		return ErrInvalidSignature
	}
	return nil
}

// MarshalJSON writes the wire form with the same escaping as the id serialisation.
func (e Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the wire JSON of e to b.
func (e *Event) AppendJSON(b []byte) []byte {
	b = AppendJSONHead(b, e.ID, e.PubKey, e.CreatedAt, e.Kind)
	b = appendTags(b, e.Tags)
	b = append(b, `,"content":`...)
	b = appendString(b, e.Content)
	return AppendJSONTail(b, &e.Sig)
}

// AppendJSONHead and AppendJSONTail write the wire JSON around an event's tags and content:
// the head up to and including `"tags":`, the tail from `,"sig"` on. A store that keeps
// the tags and content as encoded text (the relay) rebuilds the exact wire form with them.
func AppendJSONHead(b []byte, id EventID, pk PublicKey, createdAt int64, kind int) []byte {
	b = append(b, `{"id":"`...)
	b = hex.AppendEncode(b, id[:])
	b = append(b, `","pubkey":"`...)
	b = hex.AppendEncode(b, pk[:])
	b = append(b, `","created_at":`...)
	b = strconv.AppendInt(b, createdAt, 10)
	b = append(b, `,"kind":`...)
	b = strconv.AppendInt(b, int64(kind), 10)
	return append(b, `,"tags":`...)
}

// AppendJSONTail: see AppendJSONHead.
func AppendJSONTail(b []byte, sig *[64]byte) []byte {
	b = append(b, `,"sig":"`...)
	b = hex.AppendEncode(b, sig[:])
	return append(b, `"}`...)
}

func estimateTags(tags Tags) int {
	n := 2
	for _, t := range tags {
		n += 3
		for _, v := range t {
			n += len(v) + 3
		}
	}
	return n
}

func appendTags(b []byte, tags Tags) []byte {
	b = append(b, '[')
	for i, t := range tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range t {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string with the NIP-01 escaping used for event ids:
// the seven short escapes, \u00XX for other control characters, every other byte
// verbatim. It is valid JSON for any other use too (nip47 writes its envelopes with it).
func AppendJSONString(b []byte, s string) []byte { return appendString(b, s) }

// appendString writes s as a JSON string with NIP-01 escaping: the seven short escapes,
// \u00XX for other control characters, every other byte verbatim.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// ValidUTF8 reports whether every string in the event is valid UTF-8 (relays may require it).
func (e *Event) ValidUTF8() bool {
	if !utf8.ValidString(e.Content) {
		return false
	}
	for _, t := range e.Tags {
		for _, v := range t {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}
