package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/check"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["check"] = command{summary: "test any NWC wallet's conformance to NIP-47", run: runCheck}
}

const checkHelp = `
Runs a battery of NIP-47 checks against the wallet of the connection URI, as an app would:
the info event, NIP-44 and NIP-04 requests, every advertised method with valid and invalid
params and the error codes, unknown methods, the tags and result_type of every answer,
expiration, and (with --spend-max) a payment to the wallet's own invoice with the
notifications it triggers. Nothing is spent without --spend-max.

The URI comes from the argument, --uri or the NWC_URI environment variable.
Exit codes: 0 no check failed, 1 some check failed, 2 usage, 3 the relays could not be
reached or refused the requests.`

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc check", "nwc check [flags] [URI]", stdout, stderr)
	spend := a.fs.String("spend-max", "", "let the check spend up to this many sats (amount + fees) paying the wallet's own 1 sat invoice; default: spend nothing")
	silence := a.fs.Duration("silence", 3*time.Second, "how long to wait to be sure a request gets no answer (expired request)")
	markdown := a.fs.Bool("markdown", false, "print the results as a Markdown table")
	a.fs.Lookup("timeout").Usage = "how long to wait for each answer (default 15s; 4x for the payment)"
	a.fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: nwc check [flags] [URI]\n\nFlags:\n")
		a.fs.PrintDefaults()
		fmt.Fprintln(stderr, checkHelp)
	}
	pos, code, ok := a.parse(args, 0, 1)
	if !ok {
		return code
	}
	raw := a.uri
	if len(pos) == 1 {
		raw = pos[0]
	}
	if raw == "" {
		raw = os.Getenv(appEnvURI)
	}
	if raw == "" {
		return a.usageError("no connection URI: give it as the argument, with --uri or in %s", appEnvURI)
	}
	uri, err := nip47.ParseConnectionURI(raw)
	if err != nil {
		return a.usageError("%v", err)
	}
	spendMax, err := parseSats(*spend)
	if err != nil {
		return a.usageError("bad --spend-max %q: %v", *spend, err)
	}
	rep, err := check.Run(ctx, uri, check.Options{SpendMax: spendMax, Timeout: a.timeout, Silence: *silence})
	switch {
	case a.asJSON:
		printJSON(stdout, rep)
	case *markdown:
		rep.WriteMarkdown(stdout)
	default:
		rep.WriteTable(stdout)
	}
	switch {
	case err != nil: // check.ErrTransport or ctx's error: the run did not finish
		fmt.Fprintf(stderr, "nwc check: %v\n", err)
		return appExitTransport
	case !rep.OK():
		return appExitWallet
	}
	return appExitOK
}

// parseSats reads "" (0), "21" or "21sat" as msat.
func parseSats(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "sat"), 10, 64)
	if err != nil || n < 0 || n > 21e14 {
		return 0, errors.New("want a whole number of sats, e.g. 10")
	}
	return n * 1000, nil
}
