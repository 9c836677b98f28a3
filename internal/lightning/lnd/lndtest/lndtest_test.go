package lndtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `NWC_REGTEST_DIR=/tmp/r
NWC_REGTEST_SCRIPT=/src/scripts/regtest.sh

# comment
NWC_LND_A_HOST=127.0.0.1:1
NWC_LND_A_TLSCERT=/tmp/r/a/tls.cert
NWC_LND_A_MACAROON=/tmp/r/a/admin.macaroon
NWC_LND_A_PUBKEY=02aa
NWC_LND_B_HOST=127.0.0.1:2
NWC_LND_B_TLSCERT=/tmp/r/b/tls.cert
NWC_LND_B_MACAROON=/tmp/r/b/admin.macaroon
NWC_LND_B_PUBKEY=03bb
`

func TestParse(t *testing.T) {
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"complete", sample, true},
		{"node b missing", strings.Split(sample, "NWC_LND_B_HOST")[0], false},
		{"no script", strings.Replace(sample, "NWC_REGTEST_SCRIPT=/src/scripts/regtest.sh\n", "", 1), false},
		{"not key=value", sample + "garbage\n", false},
	}
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "env")
		os.WriteFile(path, []byte(tt.text), 0o600)
		env, err := Parse(path)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if tt.ok && (env.A.Host != "127.0.0.1:1" || env.B.PubKey != "03bb" || env.Dir != "/tmp/r" || env.A.Name != "a") {
			t.Errorf("%s: %+v", tt.name, env)
		}
	}
	if _, err := Parse(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file parsed")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("A=B\n=\n==\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "env")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Skip()
		}
		env, err := Parse(path)
		if err == nil && (env.A.Host == "" || env.B.Macaroon == "" || env.Script == "") {
			t.Fatalf("incomplete env accepted: %+v", env)
		}
	})
}
