package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/wallet"
)

func init() {
	commands["faucet"] = command{summary: "credit the sandbox wallet or one connection's sub-wallet", run: runFaucet}
}

// runFaucet asks the running `nwc serve` (through its admin API) to pay an invoice of the
// wallet, or of one connection, from outside: the connection is credited and notified as
// for any incoming payment.
func runFaucet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc faucet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir, db := dataDirFlag(fs), dbFlag(fs)
	amount := fs.String("amount", "100000sat", "amount to credit, e.g. 100000sat or 5000msat")
	conn := fs.Int64("connection", 0, "connection ID to credit (its isolated balance); 0 = the wallet itself")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	msat, err := wallet.ParseAmount(*amount)
	if err != nil || msat <= 0 {
		fmt.Fprintf(stderr, "nwc faucet: bad --amount %q\n", *amount)
		return 2
	}
	st, _, _, err := openWallet(ctx, *dir, *db)
	if err != nil {
		fmt.Fprintln(stderr, "nwc faucet:", err)
		return 1
	}
	addr, err := st.GetSetting(ctx, server.SettingAdminAddr)
	st.Close()
	if err != nil {
		fmt.Fprintln(stderr, "nwc faucet: no admin API recorded in", *dir, "- is 'nwc serve' running with its admin API?")
		return 1
	}
	token, err := os.ReadFile(filepath.Join(*dir, server.AdminTokenFile))
	if err != nil {
		fmt.Fprintln(stderr, "nwc faucet: read admin token:", err)
		return 1
	}
	body, _ := json.Marshal(map[string]int64{"connection_id": *conn, "amount_msat": int64(msat)})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/faucet", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "nwc faucet: is 'nwc serve' running?", err)
		return 3
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		fmt.Fprintln(stderr, "nwc faucet: bad answer:", err)
		return 1
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := out["error"].(string)
		fmt.Fprintln(stderr, "nwc faucet:", errors.New(msg))
		return 1
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	target := "the wallet"
	if *conn != 0 {
		target = fmt.Sprintf("connection %d", *conn)
	}
	fmt.Fprintf(stdout, "Credited %s to %s (payment hash %v).\n", msat.Compact(), target, out["payment_hash"])
	return 0
}
