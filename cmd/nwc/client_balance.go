package main

import (
	"context"
	"fmt"
	"io"
)

func init() {
	commands["balance"] = command{summary: "show the balance the connection can spend from", run: runBalance}
}

func runBalance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc balance", "nwc balance [--uri URI] [--json]", stdout, stderr)
	if _, code, ok := a.parse(args, 0, 0); !ok {
		return code
	}
	c, code, ok := a.dial(ctx)
	if !ok {
		return code
	}
	defer c.Close()
	bal, err := c.GetBalance(ctx)
	if err != nil {
		return a.fail(err, nil)
	}
	return a.print(bal, func(w io.Writer) {
		fmt.Fprintf(w, "Balance: %s (%d msat)\n", satText(bal.Balance), bal.Balance)
	})
}
