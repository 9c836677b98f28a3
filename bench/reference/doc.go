// Package reference benchmarks nwc's NIP-44 implementation against go-nostr's. It is a
// separate module so that go-nostr never becomes a dependency of nwc itself.
package reference
