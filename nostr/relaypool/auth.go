package relaypool

import (
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// authState is one key's NIP-42 authentication on one connection. Guarded by Pool.mu.
type authState struct {
	pub     nostr.PublicKey
	id      nostr.EventID // the kind 22242 event sent
	done    bool
	ok      bool
	waiters []func(ok bool)
}

type authWaiter struct {
	keys []*nostr.SecretKey
	then func(ok bool)
}

// keysFor returns the keys to authenticate with for a call: its own key, else the pool's.
// Called with Pool.mu held.
func (p *Pool) keysFor(relayURL string, own *nostr.SecretKey) []*nostr.SecretKey {
	if own != nil {
		return []*nostr.SecretKey{own}
	}
	if p.opts.AuthKeys != nil {
		return p.opts.AuthKeys(relayURL)
	}
	return nil
}

// authenticate makes sure every key has tried to authenticate on c, then calls then with
// true if at least one succeeded. Several keys may be authenticated on one connection;
// each key is sent at most once per challenge. Called with Pool.mu held; then runs with it held.
func (p *Pool) authenticate(c *conn, keys []*nostr.SecretKey, then func(ok bool)) {
	if c.challenge == "" {
		c.needsChall = append(c.needsChall, authWaiter{keys, then})
		return
	}
	states := make([]*authState, 0, len(keys))
	for _, k := range keys {
		if k == nil {
			continue
		}
		st := c.auths[k.Public()]
		if st == nil {
			if st = p.sendAuth(c, k); st == nil {
				continue
			}
		}
		states = append(states, st)
	}
	if len(states) == 0 {
		then(false)
		return
	}
	left, anyOK := len(states), false
	one := func(ok bool) {
		anyOK = anyOK || ok
		if left--; left == 0 {
			then(anyOK)
		}
	}
	for _, st := range states {
		if st.done {
			one(st.ok)
		} else {
			st.waiters = append(st.waiters, one)
		}
	}
}

// sendAuth signs and queues a kind 22242 event for c's challenge. Called with Pool.mu held.
func (p *Pool) sendAuth(c *conn, k *nostr.SecretKey) *authState {
	ev := nostr.Event{
		CreatedAt: time.Now().Unix(),
		Kind:      nostr.KindClientAuth,
		Tags:      nostr.Tags{{"relay", c.r.url}, {"challenge", c.challenge}},
	}
	if err := ev.Sign(k); err != nil {
		p.log.Error("cannot sign AUTH event", "relay", c.r.url, "err", err)
		return nil
	}
	st := &authState{pub: k.Public(), id: ev.ID}
	c.auths[st.pub] = st
	c.authIDs[st.id] = st
	p.log.Debug("authenticating", "relay", c.r.url, "pubkey", st.pub.String())
	c.enqueue(appendEventEnvelope("AUTH", &ev), p.opts.MaxQueueBytes)
	return st
}

// authAnswered handles the relay's OK to an AUTH event. Called with Pool.mu held.
func (p *Pool) authAnswered(c *conn, st *authState, ok bool, msg string) {
	delete(c.authIDs, st.id)
	st.done, st.ok = true, ok
	if ok {
		p.log.Debug("authenticated", "relay", c.r.url, "pubkey", st.pub.String())
	} else {
		p.log.Warn("relay refused authentication", "relay", c.r.url, "pubkey", st.pub.String(), "reason", truncate(msg, 200))
	}
	ws := st.waiters
	st.waiters = nil
	for _, w := range ws {
		w(ok)
	}
}

// handleChallenge records a relay's AUTH challenge, authenticates the pool's keys for that
// relay right away, and resumes calls that were waiting for a challenge.
func (p *Pool) handleChallenge(c *conn, challenge string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if challenge == "" || challenge == c.challenge {
		return
	}
	if c.challenge != "" {
		// A new challenge: earlier authentications may not count any more. Pending ones still
		// resolve their waiters through authIDs.
		c.auths = make(map[nostr.PublicKey]*authState)
	}
	c.challenge = challenge
	if p.opts.AuthKeys != nil {
		for _, k := range p.opts.AuthKeys(c.r.url) {
			if k != nil && c.auths[k.Public()] == nil {
				p.sendAuth(c, k)
			}
		}
	}
	waiting := c.needsChall
	c.needsChall = nil
	for _, w := range waiting {
		p.authenticate(c, w.keys, w.then)
	}
}

// handleClosed handles a relay ending one of our subscriptions: after "auth-required:" it
// authenticates and resends the REQ once per connection; otherwise the relay is done with it
// until the next connection.
func (p *Pool) handleClosed(c *conn, subID, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, sr := p.subOn(c, subID)
	if sr == nil {
		return
	}
	if hasPrefix(reason, "auth-required") && !sr.authTried {
		if keys := p.keysFor(c.r.url, s.cfg.authKey); len(keys) > 0 {
			sr.authTried = true
			p.authenticate(c, keys, func(ok bool) {
				if p.subs[s.id] != s || s.relays[c.r] != sr || sr.conn != c {
					return // closed or reconnected meanwhile
				}
				if ok {
					p.sendREQ(s, c.r, c, true)
					return
				}
				p.subClosed(s, sr, reason)
			})
			return
		}
	}
	p.subClosed(s, sr, reason)
}

// subClosed records that the relay ended s. Called with Pool.mu held.
func (p *Pool) subClosed(s *Subscription, sr *subRelay, reason string) {
	sr.closed, sr.closedReason = true, reason
	p.log.Info("relay closed subscription", "sub", s.id, "reason", truncate(reason, 200))
	p.checkEOSE(s)
}
