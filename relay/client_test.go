package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nostr"
)

// A minimal raw NIP-01 client for the tests: every read has a deadline, so a missing
// message fails the test instead of hanging it.

const readTimeout = 10 * time.Second

type testClient struct {
	t  testing.TB
	ws *websocket.Conn
}

func startRelay(t testing.TB, cfg Config) (*Relay, string) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	url, stop, err := ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, url
}

func dial(t testing.TB, url string) *testClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(16 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return &testClient{t: t, ws: ws}
}

func (c *testClient) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *testClient) send(items ...any) {
	c.t.Helper()
	b, err := json.Marshal(items)
	if err != nil {
		c.t.Fatalf("marshal: %v", err)
	}
	c.sendRaw(b)
}

// msg is one relay → client message.
type msg []json.RawMessage

func (m msg) typ() string { return m.str(0) }

func (m msg) str(i int) string {
	var s string
	if i < len(m) {
		json.Unmarshal(m[i], &s)
	}
	return s
}

func (m msg) event() *nostr.Event {
	var ev nostr.Event
	if len(m) < 3 || ev.UnmarshalJSON(m[2]) != nil {
		return nil
	}
	return &ev
}

func (c *testClient) read() msg {
	c.t.Helper()
	m, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *testClient) tryRead() (msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("relay sent non-JSON %q: %w", b, err)
	}
	return m, nil
}

func (c *testClient) expect(typ string) msg {
	c.t.Helper()
	m := c.read()
	if m.typ() != typ {
		c.t.Fatalf("got %s, want a %s message", rawString(m), typ)
	}
	return m
}

func rawString(m msg) string {
	b, _ := json.Marshal(m)
	return string(b)
}

type okReply struct {
	ok  bool
	msg string
}

// publish sends ev and returns the relay's OK for it.
func (c *testClient) publish(ev *nostr.Event) okReply {
	c.t.Helper()
	c.send("EVENT", ev)
	return c.readOK(ev.ID.String())
}

func (c *testClient) readOK(id string) okReply {
	c.t.Helper()
	m := c.expect("OK")
	if m.str(1) != id {
		c.t.Fatalf("OK for %s, want %s", m.str(1), id)
	}
	var r okReply
	if len(m) != 4 || json.Unmarshal(m[2], &r.ok) != nil {
		c.t.Fatalf("malformed OK %s", rawString(m))
	}
	r.msg = m.str(3)
	return r
}

func (c *testClient) mustPublish(ev *nostr.Event) {
	c.t.Helper()
	if r := c.publish(ev); !r.ok {
		c.t.Fatalf("publish kind %d: OK false %q", ev.Kind, r.msg)
	}
}

// req subscribes and returns the stored events up to EOSE. It fails on CLOSED.
func (c *testClient) req(subID string, filters ...string) []*nostr.Event {
	c.t.Helper()
	c.sendReq(subID, filters...)
	var out []*nostr.Event
	for {
		m := c.read()
		switch {
		case m.typ() == "EVENT" && m.str(1) == subID:
			ev := m.event()
			if ev == nil {
				c.t.Fatalf("bad EVENT %s", rawString(m))
			}
			out = append(out, ev)
		case m.typ() == "EOSE" && m.str(1) == subID:
			return out
		default:
			c.t.Fatalf("REQ %s: unexpected %s", subID, rawString(m))
		}
	}
}

func (c *testClient) sendReq(subID string, filters ...string) {
	c.t.Helper()
	b := []byte(`["REQ",` + mustJSON(subID))
	for _, f := range filters {
		b = append(b, ',')
		b = append(b, f...)
	}
	b = append(b, ']')
	c.sendRaw(b)
}

// reqClosed subscribes and expects CLOSED; it returns the reason.
func (c *testClient) reqClosed(subID string, filters ...string) string {
	c.t.Helper()
	c.sendReq(subID, filters...)
	m := c.expect("CLOSED")
	if m.str(1) != subID {
		c.t.Fatalf("CLOSED for %q, want %q", m.str(1), subID)
	}
	return m.str(2)
}

// nextEvent reads the next message and requires it to be an EVENT for subID.
func (c *testClient) nextEvent(subID string) *nostr.Event {
	c.t.Helper()
	m := c.expect("EVENT")
	if m.str(1) != subID {
		c.t.Fatalf("EVENT for %q, want %q", m.str(1), subID)
	}
	ev := m.event()
	if ev == nil {
		c.t.Fatalf("bad EVENT %s", rawString(m))
	}
	return ev
}

func (c *testClient) authenticate(sk *nostr.SecretKey, challenge, relayURL string) okReply {
	c.t.Helper()
	ev := signed(c.t, sk, nostr.KindClientAuth, time.Now().Unix(), nostr.Tags{{"relay", relayURL}, {"challenge", challenge}}, "")
	c.send("AUTH", ev)
	return c.readOK(ev.ID.String())
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func signed(t testing.TB, sk *nostr.SecretKey, kind int, createdAt int64, tags nostr.Tags, content string) *nostr.Event {
	t.Helper()
	if tags == nil {
		tags = nostr.Tags{}
	}
	ev := &nostr.Event{Kind: kind, CreatedAt: createdAt, Tags: tags, Content: content}
	if err := ev.Sign(sk); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return ev
}

func ids(evs []*nostr.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID.String()[:8]
	}
	return out
}
