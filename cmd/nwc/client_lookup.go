package main

import (
	"context"
	"errors"
	"io"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["lookup"] = command{summary: "look up an invoice or payment by hash or invoice", run: runLookup}
}

func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc lookup", "nwc lookup [--uri URI] (--hash HEX | --invoice BOLT11) [--json]", stdout, stderr)
	hash := a.fs.String("hash", "", "payment hash (hex)")
	invoice := a.fs.String("invoice", "", "BOLT-11 invoice")
	check := func([]string) error {
		if (*hash == "") == (*invoice == "") {
			return errors.New("give exactly one of --hash and --invoice")
		}
		return nil
	}
	return a.run(ctx, args, 0, 0, check, func(ctx context.Context, c *client.Client, _ []string) int {
		tx, err := c.LookupInvoice(ctx, nip47.LookupInvoiceParams{PaymentHash: *hash, Invoice: *invoice})
		return a.reply(tx, err, func(w io.Writer) { transactionText(w, tx) })
	})
}
