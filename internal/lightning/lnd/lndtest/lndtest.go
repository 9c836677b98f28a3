// Package lndtest gives tests the regtest Lightning network started by
// scripts/regtest.sh: node A (the node under test) and node B (the outside world), both
// real LND nodes on 127.0.0.1 with a channel B -> A.
//
// Tests that use it are skipped unless NWC_REGTEST_ENV names the env file the script
// writes ($NWC_REGTEST_DIR/env); .ci/run starts the network and sets it.
package lndtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/lightningtest"
	"github.com/nwc-go/nwc/internal/lightning/lnd"
)

// EnvVar names the env file of a running network.
const EnvVar = "NWC_REGTEST_ENV"

// Node is one LND node of the network.
type Node struct {
	Name     string // "a" or "b"
	Host     string // REST address
	TLSCert  string // path
	Macaroon string // path (admin.macaroon)
	PubKey   string
}

// Env is a running regtest network.
type Env struct {
	Dir    string
	Script string
	A, B   Node
}

// Load reads the env file named by NWC_REGTEST_ENV, or skips the test when it is unset.
func Load(t testing.TB) *Env {
	t.Helper()
	path := os.Getenv(EnvVar)
	if path == "" {
		t.Skipf("%s not set: no regtest network (start one with scripts/regtest.sh start)", EnvVar)
	}
	env, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// Parse reads an env file of KEY=VALUE lines.
func Parse(path string) (*Env, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("regtest env: %w", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("regtest env: bad line %q", line)
		}
		kv[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	node := func(n string) Node {
		p := "NWC_LND_" + strings.ToUpper(n) + "_"
		return Node{Name: n, Host: kv[p+"HOST"], TLSCert: kv[p+"TLSCERT"], Macaroon: kv[p+"MACAROON"], PubKey: kv[p+"PUBKEY"]}
	}
	e := &Env{Dir: kv["NWC_REGTEST_DIR"], Script: kv["NWC_REGTEST_SCRIPT"], A: node("a"), B: node("b")}
	for _, n := range []Node{e.A, e.B} {
		if n.Host == "" || n.TLSCert == "" || n.Macaroon == "" || n.PubKey == "" {
			return nil, fmt.Errorf("regtest env %s: node %s incomplete", path, n.Name)
		}
	}
	if e.Dir == "" || e.Script == "" {
		return nil, fmt.Errorf("regtest env %s: NWC_REGTEST_DIR or NWC_REGTEST_SCRIPT missing", path)
	}
	return e, nil
}

// Config is the lnd.Config for node n.
func (n Node) Config(t testing.TB) lnd.Config {
	t.Helper()
	cert, err := lnd.LoadTLSCert(n.TLSCert)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := lnd.LoadMacaroon(n.Macaroon)
	if err != nil {
		t.Fatal(err)
	}
	return lnd.Config{Host: n.Host, TLSCert: cert, Macaroon: mac}
}

// Open opens a backend on node n, closed when the test ends.
func (e *Env) Open(t testing.TB, n Node) *lnd.Backend {
	t.Helper()
	b, err := lnd.Open(context.Background(), n.Config(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Harness is the conformance harness: a is the backend under test, b the other node,
// which pays a's invoices, makes invoices for a and receives a's keysends.
func Harness(a, b *lnd.Backend, bPubKey string) lightningtest.Harness {
	return lightningtest.Harness{
		Backend: a,
		PayFromOutside: func(ctx context.Context, bolt11 string) error {
			_, err := b.PayInvoice(ctx, lightning.PayParams{Invoice: bolt11, MaxFee: 10_000})
			// Once the payer knows the outcome, the HTLC is still being removed from
			// both commitments; balances are exact only after that.
			if werr := WaitHTLCsResolved(ctx, a, b); werr != nil && err == nil {
				err = werr
			}
			return err
		},
		ExternalInvoice: func(ctx context.Context, amount int64, expiry time.Duration) (string, error) {
			inv, err := b.MakeInvoice(ctx, lightning.InvoiceParams{Amount: amount, Expiry: expiry, Description: "from node b"})
			return inv.Bolt11, err
		},
		ExternalNode: bPubKey,
		Advance:      time.Sleep, // real nodes: time has to pass
		Timeout:      90 * time.Second,
	}
}

// WaitHTLCsResolved waits until no channel of the given nodes has an HTLC pending.
// Nothing signals it, so it polls.
func WaitHTLCsResolved(ctx context.Context, nodes ...*lnd.Backend) error {
	return Poll(ctx, 20*time.Millisecond, func() (bool, error) {
		for _, n := range nodes {
			chans, err := n.Channels(ctx)
			if err != nil {
				return false, nil // a node restarting: keep waiting
			}
			for _, c := range chans {
				if c.PendingHTLCs > 0 {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// WaitActive waits until every channel of the nodes is active and can carry payments.
func WaitActive(ctx context.Context, nodes ...*lnd.Backend) error {
	return Poll(ctx, 100*time.Millisecond, func() (bool, error) {
		for _, n := range nodes {
			chans, err := n.Channels(ctx)
			if err != nil || len(chans) == 0 {
				return false, nil
			}
			for _, c := range chans {
				if !c.Active {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// Poll calls check every interval until it reports done, returns an error, or ctx ends.
// For state of an external process that offers nothing to wait on.
func Poll(ctx context.Context, interval time.Duration, check func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := check()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited too long: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// StopNode stops node n (a or b) through the script; StartNode starts it again.
func (e *Env) StopNode(t testing.TB, n string) { e.script(t, "stop-node", n) }

// StartNode starts node n again with its datadir and ports; it returns when LND answers.
func (e *Env) StartNode(t testing.TB, n string) { e.script(t, "start-node", n) }

func (e *Env) script(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{e.Script}, args...)...)
	cmd.Env = append(os.Environ(), "NWC_REGTEST_DIR="+e.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", e.Script, args, err, lastLines(string(out), 30))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
