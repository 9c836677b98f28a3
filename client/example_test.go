package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/nip47"
)

// These examples need a wallet (for instance `nwc serve` and a URI from
// `nwc connect new --name example`), so they are compiled but not run.

func ExampleDial_payInvoice() {
	ctx := context.Background()
	c, err := client.Dial(ctx, os.Getenv("NWC_URI"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.PayInvoice(ctx, "lnbc10u1p...")
	switch {
	case errors.Is(err, nip47.ErrQuotaExceeded):
		log.Fatal("the budget of this connection is spent")
	case errors.Is(err, client.ErrTimeout):
		// The payment may still go through: look it up before paying again.
		log.Fatal("no answer from the wallet")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Printf("paid: preimage %s, fee %d msat\n", res.Preimage, res.FeesPaid)
}

func ExampleClient_MakeInvoice() {
	ctx := context.Background()
	c, err := client.Dial(ctx, os.Getenv("NWC_URI"), client.WithTimeout(20*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Listen before handing out the invoice so the payment is not missed.
	notes, err := c.Notifications(ctx)
	if err != nil {
		log.Fatal(err)
	}
	inv, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21_000, Description: "coffee"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pay this:", inv.Invoice)
	for n := range notes {
		if n.NotificationType == nip47.NotificationPaymentReceived && n.Notification.PaymentHash == inv.PaymentHash {
			fmt.Println("paid:", n.Notification.Amount, "msat")
			return
		}
	}
}

func ExampleClient_Call() {
	ctx := context.Background()
	c, err := client.Dial(ctx, os.Getenv("NWC_URI"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// A method without a typed wrapper (or a future one): any params, any result.
	var res struct {
		WalletPubkey string `json:"wallet_pubkey"`
	}
	err = c.Call(ctx, nip47.MethodCreateConnection, map[string]any{
		"pubkey": "…", "name": "friend", "request_methods": []string{"get_balance"},
	}, &res)
	if errors.Is(err, nip47.ErrRestricted) {
		log.Fatal("this connection is not a superuser")
	}
}
