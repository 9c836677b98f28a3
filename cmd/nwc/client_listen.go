package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["listen"] = command{summary: "print the wallet's payment notifications until Ctrl-C", run: runListen}
}

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc listen", "nwc listen [--uri URI] [--json]", stdout, stderr)
	return a.run(ctx, args, 0, 0, nil, func(ctx context.Context, c *client.Client, _ []string) int {
		if !c.Info().Notifications {
			fmt.Fprintln(stderr, "nwc listen: warning: the wallet does not offer notifications to this connection")
		}
		notes, err := c.Notifications(ctx)
		if err != nil {
			return a.fail(err, nil)
		}
		fmt.Fprintf(stderr, "Listening for notifications from %s (Ctrl-C to stop)\n", c.WalletPubKey())
		enc := json.NewEncoder(stdout) // one JSON document per line
		for n := range notes {
			if a.asJSON {
				if err := enc.Encode(n); err != nil {
					return a.fail(err, nil)
				}
				continue
			}
			fmt.Fprintln(stdout, notificationText(&n))
		}
		// The channel closes when ctx ends (Ctrl-C): the normal way out.
		if ctx.Err() != nil {
			return appExitOK
		}
		return a.fail(fmt.Errorf("notifications ended: %w", ctx.Err()), nil)
	})
}

// notificationText is one line per notification: time, type, signed amount, hash, description.
func notificationText(n *nip47.Notification) string {
	tx := &n.Notification
	at := tx.SettledAt
	if at == nil {
		at = &tx.CreatedAt
	}
	sign := "+"
	if tx.Type == nip47.TransactionOutgoing {
		sign = "-"
	}
	line := fmt.Sprintf("%s  %-21s  %s%s  %s", unixText(at), n.NotificationType, sign, satText(tx.Amount), tx.PaymentHash)
	if tx.FeesPaid != 0 {
		line += "  fee " + satText(tx.FeesPaid)
	}
	if tx.Description != "" {
		line += "  " + tx.Description
	}
	return line
}
