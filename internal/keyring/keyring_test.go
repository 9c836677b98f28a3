package keyring

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDeriveIsStableAndDistinct(t *testing.T) {
	var master [32]byte
	master[0] = 7
	k := New(master)
	a, b := k.Derive(1), k.Derive(2)
	if a.Public() == b.Public() {
		t.Fatal("indexes 1 and 2 derived the same key")
	}
	if New(master).Derive(1).Public() != a.Public() {
		t.Fatal("derivation is not deterministic")
	}
	master[0] = 8
	if New(master).Derive(1).Public() == a.Public() {
		t.Fatal("another master gave the same child key")
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("reload: %v created=%v", err, created)
	}
	if k1.Derive(3).Public() != k2.Derive(3).Public() {
		t.Fatal("reloaded keyring derives other keys")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("zz"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(bad); err == nil {
		t.Fatal("a malformed key file was accepted")
	}
}

// TestDerivedCacheBounded: the cache stays bounded and evicted keys derive the same again.
func TestDerivedCacheBounded(t *testing.T) {
	defer func(n int) { maxDerived = n }(maxDerived)
	maxDerived = 64
	var master [32]byte
	master[0] = 1
	k := New(master)
	first := k.Derive(0).Public()
	for i := uint32(1); i <= uint32(maxDerived)+100; i++ {
		k.Derive(i)
	}
	if n := len(k.derived); n > maxDerived {
		t.Fatalf("%d keys cached, want at most %d", n, maxDerived)
	}
	if again := k.Derive(0).Public(); again != first {
		t.Fatal("index 0 derived a different key after eviction")
	}
}
