package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nwc-go/nwc/client"
)

func init() {
	commands["balance"] = command{summary: "show the balance the connection can spend from", run: runBalance}
}

func runBalance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc balance", "nwc balance [--uri URI] [--json]", stdout, stderr)
	return a.run(ctx, args, 0, 0, nil, func(ctx context.Context, c *client.Client, _ []string) int {
		bal, err := c.GetBalance(ctx)
		return a.reply(bal, err, func(w io.Writer) {
			fmt.Fprintf(w, "Balance: %s (%d msat)\n", satText(bal.Balance), bal.Balance)
		})
	})
}
