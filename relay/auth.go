package relay

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/nwc-go/nwc/nostr"
)

// ErrAuth is wrapped by every NIP-42 AUTH event rejection.
var ErrAuth = errors.New("relay: bad AUTH event")

// checkAuthEvent validates a NIP-42 kind 22242 event: signature, challenge, relay tag
// (same host as the connection's Host header; scheme, path and trailing slash ignored) and
// created_at within 10 minutes of now.
func checkAuthEvent(ev *nostr.Event, challenge, host string, now int64) error {
	if ev.Kind != nostr.KindClientAuth {
		return fmt.Errorf("%w: kind must be %d", ErrAuth, nostr.KindClientAuth)
	}
	if d := ev.CreatedAt - now; d > authMaxSkew || d < -authMaxSkew {
		return fmt.Errorf("%w: created_at is more than 10 minutes from now", ErrAuth)
	}
	if ev.Tags.Value("challenge") != challenge {
		return fmt.Errorf("%w: challenge does not match", ErrAuth)
	}
	if !sameRelayHost(ev.Tags.Value("relay"), host) {
		return fmt.Errorf("%w: relay tag does not name this relay", ErrAuth)
	}
	if err := ev.Verify(); err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return nil
}

// sameRelayHost compares the host of a relay URL with a Host header. Host names compare
// case-insensitively; ports only when both sides name one.
func sameRelayHost(relayURL, host string) bool {
	if relayURL == "" || host == "" {
		return false
	}
	if !strings.Contains(relayURL, "://") {
		relayURL = "ws://" + relayURL
	}
	u, err := url.Parse(relayURL)
	if err != nil || u.Host == "" {
		return false
	}
	h1, p1 := splitHostPort(u.Host)
	h2, p2 := splitHostPort(host)
	if !strings.EqualFold(h1, h2) {
		return false
	}
	return p1 == "" || p2 == "" || p1 == p2
}

func splitHostPort(hp string) (host, port string) {
	if h, p, err := net.SplitHostPort(hp); err == nil {
		return strings.Trim(h, "[]"), p
	}
	return strings.Trim(hp, "[]"), ""
}
