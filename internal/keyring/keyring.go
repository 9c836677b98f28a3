// Package keyring keeps the wallet service's master key and derives one service key per
// connection from it, so revoking one connection never touches the others and no per-app
// secret has to be stored.
package keyring

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nwc-go/nwc/nostr"
)

// ErrBadKeyFile is returned when the master key file exists but cannot be used.
var ErrBadKeyFile = errors.New("keyring: bad master key file")

// Keyring derives per-connection service keys from a master secret.
type Keyring struct {
	master [32]byte

	mu      sync.RWMutex
	derived map[uint32]*nostr.SecretKey
}

// New builds a keyring from a 32-byte master secret.
func New(master [32]byte) *Keyring {
	return &Keyring{master: master, derived: make(map[uint32]*nostr.SecretKey)}
}

// LoadOrCreate reads the hex master key at path, or creates it (mode 0600) if absent.
// A file readable by group or others is refused: it holds every connection's key.
func LoadOrCreate(path string) (*Keyring, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		sk := nostr.GenerateSecretKey()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(sk.Hex()+"\n"), 0o600); err != nil {
			return nil, false, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, false, err
		}
		return New(sk.Bytes()), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("%w: %s has mode %v, want 0600", ErrBadKeyFile, path, st.Mode().Perm())
	}
	var master [32]byte
	s := strings.TrimSpace(string(data))
	if len(s) != 64 {
		return nil, false, fmt.Errorf("%w: want 64 hex characters", ErrBadKeyFile)
	}
	if _, err := hex.Decode(master[:], []byte(s)); err != nil {
		return nil, false, fmt.Errorf("%w: not hex", ErrBadKeyFile)
	}
	return New(master), false, nil
}

// Derive returns the service key for connection index i. The derivation is
// HMAC-SHA256(master, "nwc/connection" || u32be(i) || counter), retried with the next
// counter in the (negligible) case that the result is not a valid scalar.
func (k *Keyring) Derive(i uint32) *nostr.SecretKey {
	k.mu.RLock()
	sk := k.derived[i]
	k.mu.RUnlock()
	if sk != nil {
		return sk
	}
	for counter := byte(0); ; counter++ {
		mac := hmac.New(sha256.New, k.master[:])
		mac.Write([]byte("nwc/connection"))
		var idx [4]byte
		binary.BigEndian.PutUint32(idx[:], i)
		mac.Write(idx[:])
		mac.Write([]byte{counter})
		if d, err := nostr.SecretKeyFromBytes(mac.Sum(nil)); err == nil {
			sk = d
			break
		}
	}
	k.mu.Lock()
	if len(k.derived) >= maxDerived {
		for j := range k.derived { // evict one, arbitrary: busy connections come back
			delete(k.derived, j)
			break
		}
	}
	k.derived[i] = sk
	k.mu.Unlock()
	return sk
}

// maxDerived bounds the cache of derived keys (~110 bytes each): deriving costs a base
// point multiplication, so busy connections keep theirs, but 100,000 idle connections
// should not each hold one.
var maxDerived = 16384 // a variable for tests
