package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nwc-go/nwc/client"
)

func init() {
	commands["pay"] = command{summary: "pay one or more BOLT-11 invoices", run: runPay}
}

// payment is one paid invoice, as printed.
type payment struct {
	Invoice  string `json:"invoice"`
	Preimage string `json:"preimage"`
	FeesPaid int64  `json:"fees_paid"` // msat
}

func runPay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc pay", "nwc pay [--uri URI] [--amount AMOUNT] [--metadata JSON] [--json] INVOICE...", stdout, stderr)
	var amount amountFlag
	a.fs.Var(&amount, "amount", "amount for an invoice without one, e.g. 1000sat or 1500msat (one invoice only)")
	metadata := a.fs.String("metadata", "", `metadata object sent with the payment, e.g. '{"comment":"thanks"}'`)
	check := func(invoices []string) error {
		if amount.set && len(invoices) > 1 {
			return errors.New("--amount applies to a single invoice")
		}
		if *metadata != "" && !json.Valid([]byte(*metadata)) {
			return errors.New("--metadata is not valid JSON")
		}
		// The same invoice twice in one call is almost certainly a mistake (a paste gone
		// wrong); the wallet would refuse the second anyway, after the first went out.
		seen := make(map[string]int, len(invoices))
		for i, inv := range invoices {
			inv = strings.TrimSpace(inv)
			if len(inv) >= 10 && strings.EqualFold(inv[:10], "lightning:") {
				inv = inv[10:]
			}
			invoices[i] = inv
			key := strings.ToLower(inv)
			if j, dup := seen[key]; dup {
				return fmt.Errorf("invoice %d is the same as invoice %d: refusing to pay it twice", i+1, j+1)
			}
			seen[key] = i
		}
		return nil
	}
	return a.run(ctx, args, 1, -1, check, func(ctx context.Context, c *client.Client, invoices []string) int {
		var opts []client.PayOption
		if amount.set {
			opts = append(opts, client.WithAmount(amount.msat))
		}
		if *metadata != "" {
			opts = append(opts, client.WithMetadata(json.RawMessage(*metadata)))
		}
		done := make([]payment, 0, len(invoices))
		for i, inv := range invoices {
			res, err := c.PayInvoice(ctx, inv, opts...)
			if err != nil {
				// Stop at the first failure: whatever follows may depend on it. What was paid
				// is printed (already, or in the JSON document).
				if len(invoices) > 1 {
					fmt.Fprintf(stderr, "nwc pay: stopped at invoice %d of %d (%s)\n", i+1, len(invoices), shortInvoice(inv))
				}
				return a.fail(err, map[string]any{"payments": done})
			}
			p := payment{Invoice: inv, Preimage: res.Preimage, FeesPaid: res.FeesPaid}
			done = append(done, p)
			if !a.asJSON {
				fmt.Fprintf(stdout, "Paid %s\n  Preimage: %s\n  Fee:      %s\n", shortInvoice(inv), p.Preimage, satText(p.FeesPaid))
			}
		}
		if a.asJSON {
			return printJSON(stdout, map[string]any{"payments": done})
		}
		return appExitOK
	})
}

// shortInvoice keeps an invoice recognisable in messages without a 300-character line.
func shortInvoice(inv string) string {
	if len(inv) <= 24 {
		return inv
	}
	return inv[:16] + "…" + inv[len(inv)-6:]
}
