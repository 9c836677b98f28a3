package main

import (
	"context"
	"io"

	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["lookup"] = command{summary: "look up an invoice or payment by hash or invoice", run: runLookup}
}

func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc lookup", "nwc lookup [--uri URI] (--hash HEX | --invoice BOLT11) [--json]", stdout, stderr)
	hash := a.fs.String("hash", "", "payment hash (hex)")
	invoice := a.fs.String("invoice", "", "BOLT-11 invoice")
	if _, code, ok := a.parse(args, 0, 0); !ok {
		return code
	}
	if (*hash == "") == (*invoice == "") {
		return a.usageError("give exactly one of --hash and --invoice")
	}
	c, code, ok := a.dial(ctx)
	if !ok {
		return code
	}
	defer c.Close()
	tx, err := c.LookupInvoice(ctx, nip47.LookupInvoiceParams{PaymentHash: *hash, Invoice: *invoice})
	if err != nil {
		return a.fail(err, nil)
	}
	return a.print(tx, func(w io.Writer) { transactionText(w, tx) })
}
