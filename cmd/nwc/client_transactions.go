package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nwc-go/nwc/client"
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
	check := func([]string) error {
		switch nip47.TransactionType(*typ) {
		case "", nip47.TransactionIncoming, nip47.TransactionOutgoing:
			p.Type = nip47.TransactionType(*typ)
		default:
			return errors.New("--type must be incoming or outgoing")
		}
		var err error
		if p.From, err = parseUnixFlag(*from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if p.Until, err = parseUnixFlag(*until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
		if p.Limit < 0 || p.Offset < 0 {
			return errors.New("--limit and --offset must not be negative")
		}
		return nil
	}
	return a.run(ctx, args, 0, 0, check, func(ctx context.Context, c *client.Client, _ []string) int {
		list, err := c.ListTransactions(ctx, p)
		return a.reply(list, err, func(w io.Writer) { transactionsText(w, list, p.Offset) })
	})
}

// transactionsText prints a page of transactions as a table, and where it is in the list.
func transactionsText(w io.Writer, list *nip47.ListTransactionsResult, offset int64) {
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
		fmt.Fprintf(w, "\n%d to %d of %d\n", offset+1, offset+int64(len(list.Transactions)), list.TotalCount)
	}
}
