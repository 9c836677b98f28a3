package lnd

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
)

func fullCapabilities() lightning.Capabilities {
	return lightning.Capabilities{
		Methods: []string{
			"pay_invoice", "multi_pay_invoice", "pay_keysend", "multi_pay_keysend",
			"make_invoice", "lookup_invoice", "list_transactions", "get_balance", "get_info",
			"make_hold_invoice", "settle_hold_invoice", "cancel_hold_invoice", "sign_message",
		},
		Notifications: []string{"payment_received", "payment_sent", "hold_invoice_accepted"},
	}
}

// Capabilities lists what this node can serve: everything, minus payments when LND
// was built without routerrpc and hold invoices without invoicesrpc (learnt at Open;
// all are assumed when the node was down then).
func (b *Backend) Capabilities() lightning.Capabilities {
	b.mu.Lock()
	defer b.mu.Unlock()
	return lightning.Capabilities{Methods: slices.Clone(b.caps.Methods), Notifications: slices.Clone(b.caps.Notifications)}
}

// probe learns the network and which sub-servers answer. A node that is down is
// not an error: the defaults stand.
func (b *Backend) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout+5*time.Second)
	defer cancel()
	if _, err := b.Info(ctx); err != nil {
		b.log.Warn("lnd not reachable yet; assuming every capability", "err", err)
		return
	}
	zero := base64.URLEncoding.EncodeToString(make([]byte, 32))
	var drop []string
	var dropN []string
	missing := routeMissing
	if s, _, err := b.openStream(ctx, request{method: "GET", path: "/v2/router/track/" + zero}); err == nil {
		s.close()
	} else if missing(err) {
		b.log.Warn("lnd has no routerrpc: payments disabled")
		drop = append(drop, "pay_invoice", "multi_pay_invoice", "pay_keysend", "multi_pay_keysend")
		dropN = append(dropN, "payment_sent")
	}
	if err := b.call(ctx, request{method: "GET", path: "/v2/invoices/lookup?payment_hash=" + zero}, nil); missing(err) {
		b.log.Warn("lnd has no invoicesrpc: hold invoices disabled")
		drop = append(drop, "make_hold_invoice", "settle_hold_invoice", "cancel_hold_invoice")
		dropN = append(dropN, "hold_invoice_accepted")
	}
	b.mu.Lock()
	b.caps.Methods = slices.DeleteFunc(b.caps.Methods, func(m string) bool { return slices.Contains(drop, m) })
	b.caps.Notifications = slices.DeleteFunc(b.caps.Notifications, func(m string) bool { return slices.Contains(dropN, m) })
	b.mu.Unlock()
}

// routeMissing reports the gateway's own 404: a sub-server that is not compiled in has
// no REST route (unlike the sub-servers' own not-found errors, which say what is missing).
func routeMissing(err error) bool {
	var re *rpcError
	return errors.As(err, &re) && re.Code == codeNotFound && strings.EqualFold(re.Message, "Not Found")
}

// networkName maps LND's chain network to a NIP-47 network name.
func networkName(info *getInfoResponse) string {
	n := ""
	if len(info.Chains) > 0 {
		n = strings.ToLower(info.Chains[0].Network)
	}
	switch n {
	case "mainnet", "bitcoin", "":
		if n == "" && info.Testnet {
			return lightning.Testnet
		}
		return lightning.Mainnet
	case "testnet", "testnet3", "testnet4":
		return lightning.Testnet
	case "signet":
		return lightning.Signet
	case "regtest", "simnet":
		// simnet is a regtest-like dev chain with no NIP-47 name of its own.
		return lightning.Regtest
	}
	return n
}

// Info describes the node.
func (b *Backend) Info(ctx context.Context) (lightning.NodeInfo, error) {
	var r getInfoResponse
	if err := b.call(ctx, request{method: "GET", path: "/v1/getinfo"}, &r); err != nil {
		return lightning.NodeInfo{}, err
	}
	info := lightning.NodeInfo{
		Alias: r.Alias, Color: strings.ToLower(r.Color), PubKey: r.IdentityPubkey,
		Network: networkName(&r), BlockHeight: r.BlockHeight, BlockHash: r.BlockHash,
	}
	b.mu.Lock()
	b.network = info.Network
	b.mu.Unlock()
	return info, nil
}

// nodeNetwork is the node's network, asked once.
func (b *Backend) nodeNetwork(ctx context.Context) (string, error) {
	b.mu.Lock()
	n := b.network
	b.mu.Unlock()
	if n != "" {
		return n, nil
	}
	info, err := b.Info(ctx)
	return info.Network, err
}

// Balance is the sum of the local balances of the open channels, in msat. Outgoing
// HTLCs in flight are already deducted by LND; incoming ones count once settled.
func (b *Backend) Balance(ctx context.Context) (int64, error) {
	var r channelBalanceResponse
	if err := b.call(ctx, request{method: "GET", path: "/v1/balance/channels"}, &r); err != nil {
		return 0, err
	}
	return int64(r.LocalBalance.Msat), nil
}

// Channel is one open channel of the node.
type Channel struct {
	ID            uint64
	ChannelPoint  string
	Peer          string // remote node public key hex
	Active        bool
	Initiator     bool
	Capacity      int64 // msat
	LocalBalance  int64 // msat
	RemoteBalance int64 // msat
	PendingHTLCs  int
}

// Channels lists the node's open channels (for health pages, and for tests that wait
// until a payment's HTLCs are fully resolved).
func (b *Backend) Channels(ctx context.Context) ([]Channel, error) {
	var r listChannelsResponse
	if err := b.call(ctx, request{method: "GET", path: "/v1/channels"}, &r); err != nil {
		return nil, err
	}
	out := make([]Channel, 0, len(r.Channels))
	for _, c := range r.Channels {
		out = append(out, Channel{
			ID: uint64(c.ChanID), ChannelPoint: c.ChannelPoint, Peer: c.RemotePubkey, Active: c.Active, Initiator: c.Initiator,
			Capacity: int64(c.Capacity) * 1000, LocalBalance: int64(c.LocalBalance) * 1000, RemoteBalance: int64(c.RemoteBalance) * 1000,
			PendingHTLCs: len(c.PendingHTLCs),
		})
	}
	return out, nil
}

// nodeKeyFamily is the key family of LND's node identity key (index 0).
const nodeKeyFamily = 6

// SignMessage signs with the node key in LND's signmessage format.
func (b *Backend) SignMessage(ctx context.Context, message string) (string, error) {
	if message != "" {
		var r struct {
			Signature string `json:"signature"`
		}
		err := b.call(ctx, request{method: "POST", path: "/v1/signmessage", body: map[string]any{"msg": b64(message)}}, &r)
		if err != nil {
			return "", err
		}
		return r.Signature, nil
	}
	// Over RPC an empty bytes field is absent, and LND's signmessage refuses it; sign
	// the prefixed message with the node key through signrpc instead (same result).
	var r struct {
		Signature b64 `json:"signature"`
	}
	body := map[string]any{
		"msg":         b64(lightning.SignedMessagePrefix + message),
		"key_loc":     map[string]int{"key_family": nodeKeyFamily, "key_index": 0},
		"double_hash": true, "compact_sig": true,
	}
	if err := b.call(ctx, request{method: "POST", path: "/v2/signer/signmessage", body: body}, &r); err != nil {
		return "", err
	}
	if len(r.Signature) != 65 {
		return "", fmt.Errorf("lnd: signer returned %d bytes, want a 65-byte compact signature", len(r.Signature))
	}
	return lightning.EncodeSignature(r.Signature), nil
}

// decodeHash checks a 32-byte hex hash or preimage.
func decodeHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: %q is not 32 bytes of hex", lightning.ErrInvalidParams, s)
	}
	return b, nil
}
