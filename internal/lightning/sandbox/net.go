package sandbox

import (
	"database/sql"
	"fmt"
	"sync"
)

var errNoRows = sql.ErrNoRows

// Net is an in-process Lightning network of sandboxes: a payment from one
// member to an invoice or node key of another is delivered to it, as if a
// channel joined them. Used by tests (two "nodes") and by multi-wallet demos.
type Net struct {
	mu    sync.Mutex
	nodes map[string]*Sandbox
}

// NewNet returns an empty network.
func NewNet() *Net { return &Net{nodes: make(map[string]*Sandbox)} }

func (n *Net) join(s *Sandbox) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nodes[s.pubKey]; ok {
		return fmt.Errorf("sandbox: node %s already on this Net", s.pubKey)
	}
	n.nodes[s.pubKey] = s
	return nil
}

func (n *Net) leave(s *Sandbox) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.nodes[s.pubKey] == s {
		delete(n.nodes, s.pubKey)
	}
}

func (n *Net) lookup(pubKey string) *Sandbox {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nodes[pubKey]
}
