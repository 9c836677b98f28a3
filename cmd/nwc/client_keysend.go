package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["keysend"] = command{summary: "send a keysend payment to a node", run: runKeysend}
}

// tlvFlag collects --tlv TYPE=HEXVALUE records.
type tlvFlag []nip47.TLVRecord

func (f *tlvFlag) String() string {
	parts := make([]string, len(*f))
	for i, r := range *f {
		parts[i] = fmt.Sprintf("%d=%s", r.Type, r.Value)
	}
	return strings.Join(parts, ",")
}

func (f *tlvFlag) Set(s string) error {
	r, err := parseTLV(s)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

// parseTLV reads TYPE=HEXVALUE, e.g. 7629169=0102ff; TYPE is a u64.
func parseTLV(s string) (nip47.TLVRecord, error) {
	typ, val, ok := strings.Cut(s, "=")
	if !ok {
		return nip47.TLVRecord{}, fmt.Errorf("want TYPE=HEXVALUE, got %q", s)
	}
	n, err := strconv.ParseUint(typ, 10, 64)
	if err != nil {
		return nip47.TLVRecord{}, fmt.Errorf("TLV type %q is not a u64", typ)
	}
	if len(val)%2 != 0 || strings.IndexFunc(val, func(r rune) bool { return !strings.ContainsRune("0123456789abcdefABCDEF", r) }) >= 0 {
		return nip47.TLVRecord{}, fmt.Errorf("TLV value %q is not hex", val)
	}
	return nip47.TLVRecord{Type: n, Value: strings.ToLower(val)}, nil
}

func runKeysend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := newAppCmd("nwc keysend", "nwc keysend [--uri URI] --amount AMOUNT [--preimage HEX] [--tlv TYPE=HEX]... [--json] NODE_PUBKEY", stdout, stderr)
	var amount amountFlag
	var tlvs tlvFlag
	a.fs.Var(&amount, "amount", "amount to send, e.g. 1000sat or 1500msat (required)")
	preimage := a.fs.String("preimage", "", "32-byte hex preimage (default: the wallet picks one)")
	a.fs.Var(&tlvs, "tlv", "custom TLV record TYPE=HEXVALUE (repeatable)")
	check := func([]string) error {
		if !amount.set || amount.msat <= 0 {
			return errAmountRequired
		}
		return nil
	}
	return a.run(ctx, args, 1, 1, check, func(ctx context.Context, c *client.Client, pos []string) int {
		res, err := c.PayKeysend(ctx, nip47.PayKeysendParams{Amount: amount.msat, Pubkey: pos[0], Preimage: *preimage, TLVRecords: tlvs})
		return a.reply(res, err, func(w io.Writer) {
			fmt.Fprintf(w, "Sent %s to %s\n  Preimage: %s\n  Fee:      %s\n", satText(amount.msat), pos[0], res.Preimage, satText(res.FeesPaid))
		})
	})
}
