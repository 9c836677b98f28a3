package nip47

import (
	"fmt"
	"strings"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Info is what a wallet service's info event (kind 13194) says about it.
type Info struct {
	WalletPubKey nostr.PublicKey
	CreatedAt    int64
	// Methods are the capabilities other than "notifications", verbatim.
	Methods []Method
	// Notifications reports the "notifications" capability.
	Notifications     bool
	NotificationTypes []string
	// Encryptions are the advertised schemes, verbatim; [nip04] when the tag is absent.
	Encryptions []Encryption
	// ClientPubKey and ClientRelay come from the NWA ["p", client, relay] tag; if the
	// relay is set, the client must use it.
	ClientPubKey *nostr.PublicKey
	ClientRelay  string
}

// Supports reports whether m is among the advertised methods.
func (i *Info) Supports(m Method) bool {
	for _, x := range i.Methods {
		if x == m {
			return true
		}
	}
	return false
}

// SupportsEncryption reports whether e is among the advertised schemes.
func (i *Info) SupportsEncryption(e Encryption) bool {
	for _, x := range i.Encryptions {
		if x == e {
			return true
		}
	}
	return false
}

// InfoEvent builds the signed info event of a wallet service key. The content lists the
// methods and, if notificationTypes is not empty, "notifications"; the encryption tag
// lists encryptions (omitted when empty, which means NIP-04 only); clientP, if set, adds
// the ["p", client] tag the NWA flow needs.
func InfoEvent(sk *nostr.SecretKey, methods []Method, notificationTypes []string, encryptions []Encryption, clientP *nostr.PublicKey, now time.Time) (*nostr.Event, error) {
	var content strings.Builder
	for _, m := range methods {
		if m == "" || strings.ContainsAny(string(m), " ,") {
			return nil, fmt.Errorf("nip47: info event: bad method %q", string(m))
		}
		if content.Len() > 0 {
			content.WriteByte(' ')
		}
		content.WriteString(string(m))
	}
	var tags nostr.Tags
	if len(notificationTypes) > 0 {
		if content.Len() > 0 {
			content.WriteByte(' ')
		}
		content.WriteString(CapabilityNotifications)
	}
	if len(encryptions) > 0 {
		s := make([]string, len(encryptions))
		for i, e := range encryptions {
			s[i] = string(e)
		}
		tags = append(tags, nostr.Tag{"encryption", strings.Join(s, " ")})
	}
	if len(notificationTypes) > 0 {
		tags = append(tags, nostr.Tag{"notifications", strings.Join(notificationTypes, " ")})
	}
	if clientP != nil {
		tags = append(tags, nostr.Tag{"p", clientP.String()})
	}
	if tags == nil {
		tags = nostr.Tags{}
	}
	ev := &nostr.Event{CreatedAt: now.Unix(), Kind: KindInfo, Tags: tags, Content: content.String()}
	if err := ev.Sign(sk); err != nil {
		return nil, err
	}
	return ev, nil
}

// ParseInfo verifies an info event and reads it. Capability and type lists may be
// separated by spaces or commas; unknown capabilities and schemes are kept.
func ParseInfo(ev *nostr.Event) (*Info, error) {
	if ev.Kind != KindInfo {
		return nil, fmt.Errorf("%w: %d, want %d", ErrUnexpectedKind, ev.Kind, KindInfo)
	}
	if err := ev.Verify(); err != nil {
		return nil, err
	}
	info := &Info{WalletPubKey: ev.PubKey, CreatedAt: ev.CreatedAt}
	for _, c := range ParseCapabilities(ev.Content) {
		if c == CapabilityNotifications {
			info.Notifications = true
			continue
		}
		info.Methods = append(info.Methods, Method(c))
	}
	if t := ev.Tags.Find("encryption"); t != nil {
		for _, e := range ParseCapabilities(t[1]) {
			info.Encryptions = append(info.Encryptions, Encryption(e))
		}
	}
	if len(info.Encryptions) == 0 {
		info.Encryptions = []Encryption{EncryptionNIP04}
	}
	if t := ev.Tags.Find("notifications"); t != nil {
		info.NotificationTypes = ParseCapabilities(t[1])
	}
	// A malformed p tag is ignored: the client found the event by its own #p filter.
	if t := ev.Tags.Find("p"); t != nil {
		if pk, err := nostr.ParsePublicKey(t[1]); err == nil {
			info.ClientPubKey = &pk
			if len(t) > 2 {
				info.ClientRelay, _ = NormalizeRelayURL(t[2])
			}
		}
	}
	return info, nil
}

// ChooseEncryption picks the scheme a client should use with the service: NIP-44 if
// advertised, else NIP-04; ErrUnsupportedEncryption when neither is.
func ChooseEncryption(info *Info) (Encryption, error) {
	switch {
	case info.SupportsEncryption(EncryptionNIP44):
		return EncryptionNIP44, nil
	case info.SupportsEncryption(EncryptionNIP04):
		return EncryptionNIP04, nil
	}
	return "", fmt.Errorf("nip47: %w: wallet offers %v", ErrUnsupportedEncryption, info.Encryptions)
}
