package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/admin"
	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// createConnection is the admin page's "new connection": stored, then subscribed at once.
func (s *Server) createConnection(ctx context.Context, n admin.NewConnection) (*wallet.Connection, *nip47.ConnectionURI, error) {
	c, uri, err := NewConnection(ctx, s.Store, s.Keys, ConnectionOptions{
		Name: n.Name, Methods: joinMethods(n.Methods), Budget: n.Budget, Expires: n.Expires,
		Isolated: n.Isolated, Notifications: n.Notifications,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Service.Reload(ctx); err != nil {
		// Stored all the same: the next refresh tick subscribes and announces it.
		s.log.Warn("reload after creating a connection", "conn", c.ID, "err", err)
		return c, uri, nil
	}
	// Announce it before the URI is shown, so an app that dials at once finds the info
	// event (the service's own announcement runs in the background).
	if ev, err := s.Service.InfoEvent(c); err == nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := s.Pool.Publish(pctx, ev); err != nil {
			s.log.Warn("publish the info event of a new connection", "conn", c.ID, "err", err)
		}
	}
	return c, uri, nil
}

func joinMethods(ms []string) string {
	if len(ms) == 0 {
		// Notifications only: get_info is always callable and grants nothing more.
		return wallet.MethodGetInfo
	}
	return strings.Join(ms, ",")
}

// revokeConnection revokes and makes the service drop the connection at once.
func (s *Server) revokeConnection(ctx context.Context, id int64) error {
	if err := s.Store.RevokeConnection(ctx, id, time.Now()); err != nil {
		return err
	}
	return s.Service.Reload(ctx)
}

// ApproveNWA creates the connection an NWA request asks for and tells the app. The order
// matters: the app's relays join the pool, the service subscribes the new key, and only
// then is the info event published through the same pool, so on every relay the service's
// subscription arrives before the event the app waits for, and the app's first request is
// heard.
func (s *Server) ApproveNWA(ctx context.Context, r *nwa.Request) (*nwa.Approval, error) {
	for _, u := range r.URI.Relays {
		if err := s.Pool.AddRelay(u); err != nil {
			return nil, fmt.Errorf("relay %q: %w", u, err)
		}
	}
	c, err := nwa.Create(ctx, s.Store, s.Keys, r, time.Now())
	if err != nil {
		return nil, err
	}
	if err := s.Service.Reload(ctx); err != nil {
		return nil, err
	}
	ev, err := s.Service.InfoEvent(c)
	if err != nil {
		return nil, err
	}
	a := &nwa.Approval{Connection: c, Relays: r.URI.Relays}
	res, err := s.Pool.Publish(ctx, ev)
	if res != nil {
		a.Results = waitOnRelays(ctx, res, r.URI.Relays)
	} else if err != nil {
		return nil, err
	}
	if a.Published() {
		a.ReturnURL = nwa.ReturnURL(r.ReturnTo, r.URI.Relays, c.ServicePubKey, "")
	}
	return a, nil
}

// waitOnRelays waits until each of relays has answered the publication (or the pool gave
// up on it), without waiting for the service's other relays.
func waitOnRelays(ctx context.Context, res *relaypool.PublishResult, relays []string) []relaypool.RelayResult {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		out := nwa.OnRelays(res.Results(), relays)
		pending := false
		for _, r := range out {
			pending = pending || r.Status == relaypool.StatusPending
		}
		if !pending {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
	}
}

// syncAppRelays adds the relays of NWA connections approved by other processes (the
// offline `nwc connect approve`) to the pool, every refresh interval.
func (s *Server) syncAppRelays(ctx context.Context) {
	t := time.NewTicker(s.refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.relaySync.Sync(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("relays of app-initiated connections", "err", err)
			}
		}
	}
}
