package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["transactions"] = command{summary: "list the wallet's transactions, newest first", run: runTransactions}
}

func runTransactions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc transactions", "nwc transactions [--uri URI] [--limit N] [--offset N] [--unpaid] [--type incoming|outgoing] [--from T] [--until T] [--json]", stdout, stderr)
	var p nip47.ListTransactionsParams
	a.fs.Int64Var(&p.Limit, "limit", 20, "at most this many (the wallet may cap it)")
	a.fs.Int64Var(&p.Offset, "offset", 0, "skip this many")
	a.fs.BoolVar(&p.Unpaid, "unpaid", false, "include unpaid invoices and failed or pending payments")
	typ := a.fs.String("type", "", "only incoming or outgoing")
	from := a.fs.String("from", "", "only from this time on (unix seconds or RFC 3339)")
	until := a.fs.String("until", "", "only up to this time (unix seconds or RFC 3339)")
	if _, code, ok := a.parse(args, 0, 0); !ok {
		return code
	}
	switch nip47.TransactionType(*typ) {
	case "", nip47.TransactionIncoming, nip47.TransactionOutgoing:
		p.Type = nip47.TransactionType(*typ)
	default:
		return a.usageError("--type must be incoming or outgoing")
	}
	var err error
	if p.From, err = parseUnixFlag(*from); err != nil {
		return a.usageError("--from: %v", err)
	}
	if p.Until, err = parseUnixFlag(*until); err != nil {
		return a.usageError("--until: %v", err)
	}
	if p.Limit < 0 || p.Offset < 0 {
		return a.usageError("--limit and --offset must not be negative")
	}
	c, code, ok := a.dial(ctx)
	if !ok {
		return code
	}
	defer c.Close()
	list, err := c.ListTransactions(ctx, p)
	if err != nil {
		return a.fail(err, nil)
	}
	return a.print(list, func(w io.Writer) {
		if len(list.Transactions) == 0 {
			fmt.Fprintln(w, "No transactions.")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CREATED\tTYPE\tSTATE\tAMOUNT\tFEE\tPAYMENT HASH\tDESCRIPTION")
		for _, tx := range list.Transactions {
			state := string(tx.State)
			if state == "" {
				state = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", unixText(&tx.CreatedAt), tx.Type, state,
				satText(tx.Amount), satText(tx.FeesPaid), tx.PaymentHash, tx.Description)
		}
		tw.Flush()
		if list.TotalCount > 0 {
			fmt.Fprintf(w, "\n%d to %d of %d\n", p.Offset+1, p.Offset+int64(len(list.Transactions)), list.TotalCount)
		}
	})
}
