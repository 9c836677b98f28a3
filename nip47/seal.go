package nip47

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/nip04"
	"github.com/nwc-go/nwc/nostr/nip44"
)

// Cipher seals (encrypts, then signs) and opens (verifies, then decrypts) NIP-47 events.
// It caches the per-peer keys of both schemes, so the curve multiplication happens once
// per pair of keys. It is safe for concurrent use. A nil *Cipher works, without caching.
type Cipher struct {
	nip44 *nip44.Cache
	nip04 *nip04.Cache
}

// NewCipher returns a Cipher whose caches hold up to max keys per scheme.
func NewCipher(max int) *Cipher {
	return &Cipher{nip44: nip44.NewCache(max), nip04: nip04.NewCache(max)}
}

// SealRequest builds a signed request event (kind 23194) for the wallet service key,
// tagged ["p", wallet] and ["encryption", scheme], then extraTags (e.g. ExpirationTag).
func (c *Cipher) SealRequest(sk *nostr.SecretKey, wallet nostr.PublicKey, scheme Encryption, req *Request, now time.Time, extraTags ...nostr.Tag) (*nostr.Event, error) {
	return c.sealRequest(sk, wallet, scheme, true, req, now, extraTags)
}

// SealLegacyRequest builds a NIP-04 request without an encryption tag, the way
// nostr-tools and rust-nostr still send them, for services that predate the tag.
func (c *Cipher) SealLegacyRequest(sk *nostr.SecretKey, wallet nostr.PublicKey, req *Request, now time.Time, extraTags ...nostr.Tag) (*nostr.Event, error) {
	return c.sealRequest(sk, wallet, EncryptionNIP04, false, req, now, extraTags)
}

func (c *Cipher) sealRequest(sk *nostr.SecretKey, wallet nostr.PublicKey, scheme Encryption, tagScheme bool, req *Request, now time.Time, extra []nostr.Tag) (*nostr.Event, error) {
	if err := checkRaw(req.Params); err != nil {
		return nil, fmt.Errorf("nip47: seal request: params: %w", err)
	}
	var buf [512]byte
	pt := req.AppendJSON(buf[:0])
	// One backing array for all tag values: ["p", wallet], ["encryption", scheme].
	vals := [4]string{"p", wallet.String(), "encryption", string(scheme)}
	tags := make(nostr.Tags, 1, 2+len(extra))
	tags[0] = vals[0:2:2]
	if tagScheme {
		tags = append(tags, vals[2:4:4])
	}
	tags = append(tags, extra...)
	return c.seal(sk, wallet, scheme, KindRequest, pt, now, tags)
}

// SealResponse builds a signed response event (kind 23195) for the client key, tagged
// ["p", client] and ["e", requestID], then extraTags (e.g. DTag for multi-pay). Use the
// scheme the request came with. NIP-44 caps the JSON at 65,535 bytes (the error wraps
// nip44.ErrMessageLength): page large list_transactions results.
func (c *Cipher) SealResponse(sk *nostr.SecretKey, client nostr.PublicKey, requestID nostr.EventID, scheme Encryption, resp *Response, now time.Time, extraTags ...nostr.Tag) (*nostr.Event, error) {
	if resp.Error == nil {
		if err := checkRaw(resp.Result); err != nil {
			return nil, fmt.Errorf("nip47: seal response: result: %w", err)
		}
	}
	var buf [512]byte
	pt := resp.AppendJSON(buf[:0])
	vals := [4]string{"p", client.String(), "e", requestID.String()}
	tags := make(nostr.Tags, 2, 2+len(extraTags))
	tags[0], tags[1] = vals[0:2:2], vals[2:4:4]
	tags = append(tags, extraTags...)
	return c.seal(sk, client, scheme, KindResponse, pt, now, tags)
}

// SealNotification builds a signed notification event for the client key: kind 23197
// for NIP-44, 23196 for NIP-04. A service supporting both sends one of each.
func (c *Cipher) SealNotification(sk *nostr.SecretKey, client nostr.PublicKey, scheme Encryption, n *Notification, now time.Time) (*nostr.Event, error) {
	kind, err := notificationKind(scheme)
	if err != nil {
		return nil, err
	}
	pt, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("nip47: seal notification: %w", err)
	}
	return c.seal(sk, client, scheme, kind, pt, now, nostr.Tags{{"p", client.String()}})
}

func notificationKind(scheme Encryption) (int, error) {
	switch scheme {
	case EncryptionNIP44:
		return KindNotification, nil
	case EncryptionNIP04:
		return KindNotificationNIP04, nil
	}
	return 0, fmt.Errorf("nip47: %w: %q", ErrUnsupportedEncryption, string(scheme))
}

func (c *Cipher) seal(sk *nostr.SecretKey, peer nostr.PublicKey, scheme Encryption, kind int, plaintext []byte, now time.Time, tags nostr.Tags) (*nostr.Event, error) {
	key, err := c.key(sk, peer, scheme)
	if err != nil {
		return nil, err
	}
	var content string
	if scheme == EncryptionNIP44 {
		content, err = nip44.Encrypt(string(plaintext), key)
	} else {
		content, err = nip04.Encrypt(string(plaintext), key)
	}
	if err != nil {
		return nil, fmt.Errorf("nip47: encrypt: %w", err)
	}
	ev := &nostr.Event{CreatedAt: now.Unix(), Kind: kind, Tags: tags, Content: content}
	if err := ev.Sign(sk); err != nil {
		return nil, err
	}
	return ev, nil
}

// key returns the NIP-44 conversation key or the NIP-04 shared secret for the pair.
func (c *Cipher) key(sk *nostr.SecretKey, peer nostr.PublicKey, scheme Encryption) ([32]byte, error) {
	var k [32]byte
	var err error
	switch {
	case scheme == EncryptionNIP44 && c != nil:
		k, err = c.nip44.Get(sk, peer)
	case scheme == EncryptionNIP44:
		k, err = nip44.ConversationKey(sk, peer)
	case scheme == EncryptionNIP04 && c != nil:
		k, err = c.nip04.Get(sk, peer)
	case scheme == EncryptionNIP04:
		k, err = nip04.SharedKey(sk, peer)
	default:
		return k, fmt.Errorf("nip47: %w: %q", ErrUnsupportedEncryption, string(scheme))
	}
	if err != nil {
		return k, fmt.Errorf("nip47: %s key: %w", scheme, err)
	}
	return k, nil
}

func (c *Cipher) decrypt(sk *nostr.SecretKey, peer nostr.PublicKey, scheme Encryption, content string) (string, error) {
	key, err := c.key(sk, peer, scheme)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	var pt string
	if scheme == EncryptionNIP44 {
		pt, err = nip44.Decrypt(content, key)
	} else {
		pt, err = nip04.Decrypt(content, key)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return pt, nil
}

// OpenRequest verifies a request event (id and signature), then decrypts and parses it
// with the service key sk. The scheme comes from the encryption tag (absent: NIP-04)
// and is returned even with an error, so a service can answer in kind. Errors wrap
// ErrUnexpectedKind, nostr.ErrInvalidID, nostr.ErrInvalidSignature, ErrWrongRecipient
// (p tag names another key), ErrUnsupportedEncryption, ErrDecrypt or ErrInvalidRequest.
func (c *Cipher) OpenRequest(sk *nostr.SecretKey, ev *nostr.Event) (*Request, Encryption, error) {
	if ev.Kind != KindRequest {
		return nil, "", fmt.Errorf("%w: %d, want %d", ErrUnexpectedKind, ev.Kind, KindRequest)
	}
	if err := ev.Verify(); err != nil {
		return nil, "", err
	}
	return c.DecryptRequest(sk, ev)
}

// DecryptRequest is OpenRequest without the signature check, for events the caller
// (e.g. the relay pool) has already verified. Never use it on unverified events.
func (c *Cipher) DecryptRequest(sk *nostr.SecretKey, ev *nostr.Event) (*Request, Encryption, error) {
	if ev.Kind != KindRequest {
		return nil, "", fmt.Errorf("%w: %d, want %d", ErrUnexpectedKind, ev.Kind, KindRequest)
	}
	if err := checkRecipient(sk, ev); err != nil {
		return nil, "", err
	}
	scheme := RequestEncryption(ev)
	if !scheme.Supported() {
		return nil, scheme, fmt.Errorf("nip47: %w: %q", ErrUnsupportedEncryption, string(scheme))
	}
	pt, err := c.decrypt(sk, ev.PubKey, scheme, ev.Content)
	if err != nil {
		return nil, scheme, err
	}
	req := new(Request)
	if err := req.decode([]byte(pt)); err != nil {
		return nil, scheme, err
	}
	return req, scheme, nil
}

// RequestEncryption returns the scheme named by a request's encryption tag, NIP-04 when
// there is none. The result may be unsupported.
func RequestEncryption(ev *nostr.Event) Encryption {
	v := strings.TrimSpace(ev.Tags.Value("encryption"))
	if v == "" {
		return EncryptionNIP04
	}
	return Encryption(v)
}

// OpenResponse verifies a response event, then decrypts and parses it with the client
// key sk. The scheme is recognised from the content, because a service may answer in
// another scheme than the request's (Alby answers undecryptable requests with NIP-44).
// The caller must check the author is the wallet and match the request with ResponseTo;
// the p tag is optional (js-sdk's service omits it).
func (c *Cipher) OpenResponse(sk *nostr.SecretKey, ev *nostr.Event) (*Response, Encryption, error) {
	if ev.Kind != KindResponse {
		return nil, "", fmt.Errorf("%w: %d, want %d", ErrUnexpectedKind, ev.Kind, KindResponse)
	}
	if err := ev.Verify(); err != nil {
		return nil, "", err
	}
	return c.DecryptResponse(sk, ev)
}

// DecryptResponse is OpenResponse without the signature check; see DecryptRequest.
func (c *Cipher) DecryptResponse(sk *nostr.SecretKey, ev *nostr.Event) (*Response, Encryption, error) {
	if ev.Kind != KindResponse {
		return nil, "", fmt.Errorf("%w: %d, want %d", ErrUnexpectedKind, ev.Kind, KindResponse)
	}
	if err := checkRecipient(sk, ev); err != nil {
		return nil, "", err
	}
	scheme := contentEncryption(ev.Content)
	pt, err := c.decrypt(sk, ev.PubKey, scheme, ev.Content)
	if err != nil {
		return nil, scheme, err
	}
	resp := new(Response)
	if err := resp.decode([]byte(pt)); err != nil {
		return nil, scheme, err
	}
	return resp, scheme, nil
}

// contentEncryption tells the schemes apart: NIP-04 content always has "?iv=", which
// base64 (NIP-44) cannot contain.
func contentEncryption(content string) Encryption {
	if strings.Contains(content, "?iv=") {
		return EncryptionNIP04
	}
	return EncryptionNIP44
}

// OpenNotification verifies a notification event, then decrypts and parses it with the
// client key sk; the scheme follows from the kind.
func (c *Cipher) OpenNotification(sk *nostr.SecretKey, ev *nostr.Event) (*Notification, Encryption, error) {
	var scheme Encryption
	switch ev.Kind {
	case KindNotification:
		scheme = EncryptionNIP44
	case KindNotificationNIP04:
		scheme = EncryptionNIP04
	default:
		return nil, "", fmt.Errorf("%w: %d, want %d or %d", ErrUnexpectedKind, ev.Kind, KindNotification, KindNotificationNIP04)
	}
	if err := ev.Verify(); err != nil {
		return nil, "", err
	}
	if err := checkRecipient(sk, ev); err != nil {
		return nil, "", err
	}
	pt, err := c.decrypt(sk, ev.PubKey, scheme, ev.Content)
	if err != nil {
		return nil, scheme, err
	}
	n := new(Notification)
	if err := json.Unmarshal([]byte(pt), n); err != nil {
		return nil, scheme, fmt.Errorf("%w: %v", ErrInvalidNotification, err)
	}
	if n.NotificationType == "" {
		return nil, scheme, fmt.Errorf("%w: notification_type missing", ErrInvalidNotification)
	}
	return n, scheme, nil
}

// checkRecipient rejects an event whose p tag names another key; no p tag is accepted.
func checkRecipient(sk *nostr.SecretKey, ev *nostr.Event) error {
	p := ev.Tags.Find("p")
	if p == nil {
		return nil
	}
	if !hexEqual(p[1], sk.Public()) {
		return ErrWrongRecipient
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// hexEqual reports whether s is the lowercase hex of k, without allocating.
func hexEqual(s string, k nostr.PublicKey) bool {
	if len(s) != 64 {
		return false
	}
	for i, b := range k {
		if s[2*i] != hexDigits[b>>4] || s[2*i+1] != hexDigits[b&0xf] {
			return false
		}
	}
	return true
}

// Recipient returns the key named by the event's p tag, which a service with one key
// per connection uses to pick the key to open a request with. Only the form is checked
// (64 lowercase hex), not that the key is on the curve: that costs a square root per
// request, and the key is only looked up among the service's own keys, which all are.
func Recipient(ev *nostr.Event) (nostr.PublicKey, bool) {
	var pk nostr.PublicKey
	v := ev.Tags.Value("p")
	if !nostr.IsHex32(v) {
		return pk, false
	}
	hex.Decode(pk[:], []byte(v))
	return pk, true
}

// ResponseTo returns the request id named by a response's e tag.
func ResponseTo(ev *nostr.Event) (nostr.EventID, bool) {
	id, err := nostr.ParseEventID(ev.Tags.Value("e"))
	return id, err == nil
}

// DTag returns ["d", id], the tag that tells multi-pay responses apart.
func DTag(id string) nostr.Tag { return nostr.Tag{"d", id} }

// ItemID returns the value of a response's d tag (multi-pay element id) and whether the
// tag is present; the value may be "".
func ItemID(ev *nostr.Event) (string, bool) {
	for _, t := range ev.Tags {
		if len(t) >= 1 && t[0] == "d" {
			if len(t) == 1 {
				return "", true
			}
			return t[1], true
		}
	}
	return "", false
}

// ExpirationTag returns the NIP-40 ["expiration", <unix s>] tag; a service ignores a
// request received after it.
func ExpirationTag(t time.Time) nostr.Tag {
	return nostr.Tag{"expiration", strconv.FormatInt(t.Unix(), 10)}
}

// Expiration returns the time of the event's expiration tag, if it has a valid one.
func Expiration(ev *nostr.Event) (time.Time, bool) {
	v := ev.Tags.Value("expiration")
	if v == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
