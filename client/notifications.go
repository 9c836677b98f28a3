package client

import (
	"context"
	"fmt"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// Notifications subscribes to the wallet's notifications for this connection, of the kind
// that matches the client's encryption (23197 for NIP-44, 23196 for NIP-04), from now on.
// The subscription survives relay reconnects (notifications sent while no relay was
// connected are lost: they are ephemeral). The channel is closed when ctx ends or the
// client is closed. Types are not filtered: compare NotificationType with the
// nip47.Notification* constants. Whether the wallet sends any is in Info().Notifications.
func (c *Client) Notifications(ctx context.Context) (<-chan nip47.Notification, error) {
	kind := nip47.KindNotification
	if c.scheme == nip47.EncryptionNIP04 {
		kind = nip47.KindNotificationNIP04
	}
	since := time.Now().Unix()
	filter := nostr.Filter{
		Kinds:   []int{kind},
		Authors: []string{c.uri.WalletPubKey.String()},
		Tags:    map[string][]string{"p": {c.ClientPubKey().String()}},
		Since:   &since,
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	sub, err := c.pool.Subscribe(ctx, []nostr.Filter{filter}, c.auth())
	if err != nil {
		return nil, fmt.Errorf("client: subscribe to notifications: %w", err)
	}
	out := make(chan nip47.Notification)
	c.wg.Add(1)
	go c.notify(ctx, sub, out)
	return out, nil
}

// notify decrypts notifications and hands them to the app until ctx ends, the client
// closes or the pool ends the subscription.
func (c *Client) notify(ctx context.Context, sub *relaypool.Subscription, out chan<- nip47.Notification) {
	defer c.wg.Done()
	defer close(out)
	defer sub.Close()
	for {
		var ev *nostr.Event
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case e, ok := <-sub.Events():
			if !ok {
				return
			}
			ev = e
		}
		n, _, err := c.cipher.OpenNotification(c.uri.Secret, ev)
		if err != nil {
			c.log.Warn("ignored an unreadable notification", "err", err)
			continue
		}
		select {
		case out <- *n:
		case <-ctx.Done():
			return
		case <-c.done:
			return
		}
	}
}
