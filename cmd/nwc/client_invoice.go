package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["invoice"] = command{summary: "create an invoice to receive a payment", run: runInvoice}
}

func runInvoice(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc invoice", "nwc invoice [--uri URI] --amount AMOUNT [--description TEXT] [--description-hash HEX] [--expiry 1h] [--json]", stdout, stderr)
	var amount amountFlag
	a.fs.Var(&amount, "amount", "amount to receive, e.g. 1000sat or 1500msat (required)")
	desc := a.fs.String("description", "", "description shown to the payer")
	descHash := a.fs.String("description-hash", "", "hex SHA-256 of a long description (instead of --description)")
	expiry := a.fs.Duration("expiry", 0, "how long the invoice can be paid (default: the wallet's, usually 1h)")
	check := func([]string) error {
		if !amount.set || amount.msat <= 0 {
			return errAmountRequired
		}
		if *expiry < 0 || *expiry > 0 && *expiry < time.Second {
			return errors.New("--expiry must be at least 1s")
		}
		return nil
	}
	return a.run(ctx, args, 0, 0, check, func(ctx context.Context, c *client.Client, _ []string) int {
		tx, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{
			Amount: amount.msat, Description: *desc, DescriptionHash: *descHash, Expiry: int64(*expiry / time.Second),
		})
		return a.reply(tx, err, func(w io.Writer) {
			fmt.Fprintf(w, "%s\n\n", tx.Invoice)
			transactionText(w, tx)
		})
	})
}
