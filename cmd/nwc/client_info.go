package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nwc-go/nwc/client"
)

func init() {
	commands["info"] = command{summary: "show what a wallet offers this connection (info event and get_info)", run: runInfo}
}

func runInfo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc info", "nwc info [--uri URI] [--json]", stdout, stderr)
	return a.run(ctx, args, 0, 0, nil, func(ctx context.Context, c *client.Client, _ []string) int {
		got, err := c.GetInfo(ctx)
		if err != nil {
			return a.fail(err, nil)
		}
		info := c.Info()
		doc := map[string]any{
			"wallet_pubkey": c.WalletPubKey().String(),
			"client_pubkey": c.ClientPubKey().String(),
			"relays":        c.Relays(),
			"encryption":    c.Encryption(),
			"info_event": map[string]any{
				"methods": info.Methods, "notifications": info.Notifications,
				"notification_types": info.NotificationTypes, "encryptions": info.Encryptions,
			},
			"get_info": got,
		}
		return a.print(doc, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			row := func(k, v string) {
				if v != "" {
					fmt.Fprintf(tw, "%s:\t%s\n", k, v)
				}
			}
			row("Wallet", c.WalletPubKey().String())
			row("App key", c.ClientPubKey().String())
			row("Relays", strings.Join(c.Relays(), " "))
			row("Encryption", fmt.Sprintf("%s (wallet offers: %s)", c.Encryption(), joinAny(info.Encryptions)))
			row("Methods", joinAny(got.Methods))
			row("Notifications", strings.Join(got.Notifications, " "))
			if got.Alias != "" || got.Pubkey != "" {
				row("Node", strings.TrimSpace(got.Alias+" "+got.Pubkey))
				row("Network", got.Network)
				if got.BlockHeight > 0 {
					row("Block", fmt.Sprintf("%d %s", got.BlockHeight, got.BlockHash))
				}
			}
			row("Lightning address", got.LUD16)
			tw.Flush()
		})
	})
}

// joinAny joins methods or encryption names with spaces; empty is "-".
func joinAny[T ~string](list []T) string {
	if len(list) == 0 {
		return "-"
	}
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = string(v)
	}
	return strings.Join(s, " ")
}
