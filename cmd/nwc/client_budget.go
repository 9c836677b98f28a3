package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nwc-go/nwc/client"
)

func init() {
	commands["budget"] = command{summary: "show the connection's spending budget", run: runBudget}
}

func runBudget(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc budget", "nwc budget [--uri URI] [--json]", stdout, stderr)
	return a.run(ctx, args, 0, 0, nil, func(ctx context.Context, c *client.Client, _ []string) int {
		b, err := c.GetBudget(ctx)
		return a.reply(b, err, func(w io.Writer) {
			if !b.HasBudget() {
				fmt.Fprintln(w, "No budget: the connection may spend up to the balance.")
				return
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "Budget:\t%s (%s)\n", satText(b.TotalBudget), b.RenewalPeriod)
			fmt.Fprintf(tw, "Used:\t%s\n", satText(b.UsedBudget))
			fmt.Fprintf(tw, "Remaining:\t%s\n", satText(max(b.TotalBudget-b.UsedBudget, 0)))
			if b.RenewsAt != nil {
				fmt.Fprintf(tw, "Renews:\t%s\n", unixText(b.RenewsAt))
			}
			tw.Flush()
		})
	})
}
