// Package nostr holds the Nostr primitives that the rest of nwc builds on: typed keys
// (secret keys are redacted when printed), events with the canonical NIP-01 serialisation
// and BIP-340 signatures, filters and NIP-19 npub/nsec encoding.
package nostr

// Kind classes of NIP-01.

// IsReplaceable reports kinds where relays keep only the newest event per (pubkey, kind).
func IsReplaceable(kind int) bool {
	return kind == 0 || kind == 3 || kind >= 10000 && kind < 20000
}

// IsEphemeral reports kinds that relays fan out without storing.
func IsEphemeral(kind int) bool { return kind >= 20000 && kind < 30000 }

// IsAddressable reports kinds keyed by (kind, pubkey, d tag).
func IsAddressable(kind int) bool { return kind >= 30000 && kind < 40000 }

// Kinds used across nwc.
const (
	KindDeletion   = 5
	KindClientAuth = 22242 // NIP-42
)
