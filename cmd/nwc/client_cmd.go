package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

// Exit codes of the client verbs (info, balance, pay, ...).
const (
	appExitOK        = 0
	appExitWallet    = 1 // the wallet answered with an error (or with something unusable)
	appExitUsage     = 2 // bad flags, arguments or URI
	appExitTransport = 3 // no answer: timeout, no relay took the request, no info event
)

// appEnvURI names the environment variable that may hold the connection URI.
const appEnvURI = "NWC_URI"

const appExitCodesHelp = `
The connection URI comes from --uri or the NWC_URI environment variable.
Exit codes: 0 ok, 1 the wallet answered with an error, 2 usage, 3 no answer
(timeout, relays unreachable or refusing the request).`

// appCmd is what every client verb shares: the --uri, --json and --timeout flags,
// dialling the wallet, printing results and turning errors into exit codes.
type appCmd struct {
	name           string // e.g. "nwc pay"
	fs             *flag.FlagSet
	uri            string
	asJSON         bool
	timeout        time.Duration
	stdout, stderr io.Writer
}

// newAppCmd prepares a verb; usage is its synopsis, e.g. "nwc pay [flags] INVOICE...".
// The verb adds its own flags to fs before calling parse.
func newAppCmd(name, usage string, stdout, stderr io.Writer) *appCmd {
	a := &appCmd{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	a.fs.SetOutput(stderr)
	a.fs.StringVar(&a.uri, "uri", "", "nostr+walletconnect:// connection URI (default $"+appEnvURI+")")
	a.fs.BoolVar(&a.asJSON, "json", false, "print JSON")
	a.fs.DurationVar(&a.timeout, "timeout", 0, "how long to wait for the wallet (default 60s for payments, 10s otherwise)")
	a.fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", usage)
		a.fs.PrintDefaults()
		fmt.Fprintln(stderr, appExitCodesHelp)
	}
	return a
}

// parse reads flags placed before, between or after the positional arguments (so both
// `nwc pay INVOICE --amount 5sat` and `nwc pay --amount 5sat INVOICE` work) and checks
// the number of positional arguments is in [minArgs, maxArgs] (maxArgs < 0: no limit).
// ok is false when the verb must exit with code.
func (a *appCmd) parse(args []string, minArgs, maxArgs int) (pos []string, code int, ok bool) {
	for {
		if err := a.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, appExitOK, false
			}
			return nil, appExitUsage, false
		}
		rest := a.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if len(pos) < minArgs || maxArgs >= 0 && len(pos) > maxArgs {
		a.usageError("wrong number of arguments")
		return nil, appExitUsage, false
	}
	return pos, appExitOK, true
}

// errAmountRequired is the usage error of the verbs that need --amount.
var errAmountRequired = errors.New("--amount is required and must be positive")

// usageError reports a mistake in the command line; the verb returns appExitUsage.
func (a *appCmd) usageError(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "%s: %s\n", a.name, fmt.Sprintf(format, args...))
	fmt.Fprintf(a.stderr, "Run '%s -h' for help.\n", a.name)
	return appExitUsage
}

// run is the skeleton of every verb that talks to a wallet: parse args (see parse for
// minArgs and maxArgs), let check (optional) refuse bad flags or arguments before
// anything is dialled, its error printed as a usage error, then dial the wallet and hand
// it to call, closing it after. call's result is the exit code.
func (a *appCmd) run(ctx context.Context, args []string, minArgs, maxArgs int,
	check func(pos []string) error, call func(ctx context.Context, c *client.Client, pos []string) int) int {
	pos, code, ok := a.parse(args, minArgs, maxArgs)
	if !ok {
		return code
	}
	if check != nil {
		if err := check(pos); err != nil {
			return a.usageError("%v", err)
		}
	}
	c, code, ok := a.dial(ctx)
	if !ok {
		return code
	}
	defer c.Close()
	return call(ctx, c, pos)
}

// dial connects to the wallet of --uri or $NWC_URI. ok is false when the verb must exit
// with code.
func (a *appCmd) dial(ctx context.Context) (c *client.Client, code int, ok bool) {
	uri := a.uri
	if uri == "" {
		uri = os.Getenv(appEnvURI)
	}
	if uri == "" {
		return nil, a.usageError("no connection URI: give --uri or set %s", appEnvURI), false
	}
	var opts []client.Option
	if a.timeout > 0 {
		opts = append(opts, client.WithTimeout(a.timeout), client.WithInfoTimeout(a.timeout))
	}
	c, err := client.Dial(ctx, uri, opts...)
	if err != nil {
		return nil, a.fail(err, nil), false
	}
	return c, appExitOK, true
}

// fail reports err and returns the exit code for it. With --json the error also goes to
// stdout as {"error":{"code":…,"message":…}} merged into extra (e.g. what succeeded
// before it), so scripts read one JSON document whatever happens.
func (a *appCmd) fail(err error, extra map[string]any) int {
	code, kind := appErrorCode(err)
	var werr *nip47.Error
	if errors.As(err, &werr) {
		fmt.Fprintf(a.stderr, "%s: the wallet answered %s: %s\n", a.name, werr.Code, werr.Message)
	} else {
		fmt.Fprintf(a.stderr, "%s: %v\n", a.name, err)
	}
	if a.asJSON {
		doc := map[string]any{}
		for k, v := range extra {
			doc[k] = v
		}
		msg := err.Error()
		if werr != nil {
			msg = werr.Message
		}
		doc["error"] = map[string]string{"code": kind, "message": msg}
		printJSON(a.stdout, doc)
	}
	return code
}

// appErrorCode classifies err: the exit code, and the code shown in JSON (the wallet's own
// code, or one of TIMEOUT, PUBLISH_FAILED, NO_INFO, CANCELLED, BAD_URI, BAD_PARAMS, CLIENT).
func appErrorCode(err error) (int, string) {
	var werr *nip47.Error
	switch {
	case errors.As(err, &werr):
		return appExitWallet, string(werr.Code)
	case errors.Is(err, client.ErrTimeout):
		return appExitTransport, "TIMEOUT"
	case errors.Is(err, client.ErrPublish):
		return appExitTransport, "PUBLISH_FAILED"
	case errors.Is(err, client.ErrNoInfo):
		return appExitTransport, "NO_INFO"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, client.ErrClosed):
		return appExitTransport, "CANCELLED"
	case errors.Is(err, nip47.ErrInvalidURI):
		return appExitUsage, "BAD_URI"
	case errors.Is(err, nip47.ErrInvalidParams):
		return appExitUsage, "BAD_PARAMS"
	}
	return appExitWallet, "CLIENT"
}

// reply ends a request: err is reported as fail does, else v is printed as print does.
func (a *appCmd) reply(v any, err error, human func(w io.Writer)) int {
	if err != nil {
		return a.fail(err, nil)
	}
	return a.print(v, human)
}

// print writes v as indented JSON with --json, else calls human.
func (a *appCmd) print(v any, human func(w io.Writer)) int {
	if a.asJSON {
		return printJSON(a.stdout, v)
	}
	human(a.stdout)
	return appExitOK
}

// amountFlag is a flag holding an amount such as 1000sat, 1500msat or 1500 (msat).
type amountFlag struct {
	msat int64
	set  bool
}

func (f *amountFlag) String() string {
	if !f.set {
		return ""
	}
	return wallet.MSat(f.msat).Compact()
}

func (f *amountFlag) Set(s string) error {
	m, err := wallet.ParseAmount(s)
	if err != nil {
		return fmt.Errorf("want e.g. 1000sat or 1500msat: %w", err)
	}
	f.msat, f.set = int64(m), true
	return nil
}

// satText shows msat as sats: "21 sat", "1.5 sat", "0.001 sat".
func satText(msat int64) string {
	sign := ""
	if msat < 0 {
		sign, msat = "-", -msat
	}
	whole := strconv.FormatInt(msat/1000, 10)
	if frac := msat % 1000; frac != 0 {
		whole += strings.TrimRight(fmt.Sprintf(".%03d", frac), "0")
	}
	return sign + whole + " sat"
}

// unixText shows a unix time in local time; 0 or nil is "-".
func unixText(t *int64) string {
	if t == nil || *t == 0 {
		return "-"
	}
	return time.Unix(*t, 0).Local().Format("2006-01-02 15:04:05")
}

// parseUnixFlag reads unix seconds or an RFC 3339 time; "" is 0.
func parseUnixFlag(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("bad time %q: want unix seconds or an RFC 3339 time", s)
	}
	return t.Unix(), nil
}

// transactionText prints one transaction as "Key: value" rows.
func transactionText(w io.Writer, tx *nip47.Transaction) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Type", string(tx.Type))
	row("State", string(tx.State))
	row("Amount", satText(tx.Amount))
	if tx.Type == nip47.TransactionOutgoing || tx.FeesPaid != 0 {
		row("Fee", satText(tx.FeesPaid))
	}
	row("Description", tx.Description)
	row("Description hash", tx.DescriptionHash)
	row("Payment hash", tx.PaymentHash)
	row("Preimage", tx.Preimage)
	row("Invoice", tx.Invoice)
	row("Created", unixText(&tx.CreatedAt))
	if tx.ExpiresAt != nil {
		row("Expires", unixText(tx.ExpiresAt))
	}
	if tx.SettledAt != nil {
		row("Settled", unixText(tx.SettledAt))
	}
	if len(tx.Metadata) > 0 {
		row("Metadata", string(tx.Metadata))
	}
	tw.Flush()
}
